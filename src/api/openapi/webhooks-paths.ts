/** Event webhooks in the reference (api/webhooks.ts); docs/events.md has every event's body. */
import { EVENT_TYPES, isEventType } from '../../core/events.js'
import { createWebhookSchema, patchWebhookSchema } from '../webhooks.js'
import { deliveryExample, IDS, pageOf, webhookExample } from './examples.js'
import { describeField, idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Event webhooks'
const webhookId = idParams('webhook', IDS.webhook)

describeField(createWebhookSchema.shape.events, {
  description: `The event types it receives, at least one: ${EVENT_TYPES.map((type) => `\`${type}\``).join(', ')}.`,
})

/** The route checks each event type after the schema (naming `events[i]`); so are the examples. */
function checkEvents(body: { events?: unknown[] }): void {
  for (const [index, value] of (body.events ?? []).entries()) if (!isEventType(value)) throw new Error(`"events[${index}]" is not an event type`)
}

export const webhookDocs: DocumentedGroup = {
  operations: [
    {
      method: 'post',
      path: '/api/webhooks',
      tag: TAG,
      summary: 'Subscribe to events',
      description:
        'Each event of the types listed is POSTed to `url` as `{id, type, created_at, team_id, data}`, signed `X-Switchboard-Signature: sha256=<hex HMAC of the body>` with `secret`, and retried with backoff for 24 hours until a 2xx. `secret` is shown in full only in this answer (generated when not given).',
      body: {
        schema: createWebhookSchema,
        examples: {
          crm: { summary: 'Messages and handovers to a CRM', value: { url: 'https://crm.example.com/switchboard/events', events: ['message.received', 'conversation.handover'], description: 'CRM inbox' } },
          secret: { summary: 'With a secret of your own', value: { url: 'https://ops.example.com/hooks/switchboard', events: ['provider.health_changed', 'bot.health_changed'], secret: 'ops-signing-secret-0123456789' } },
        },
        check: checkEvents,
      },
      success: { status: 201, description: 'The subscription, `secret` in full.', example: { ...webhookExample, secret: 'whsec_Jt0mS2x9Pq4Lw7Vb1Nc8Kd3Fh6Gz5Ry0Ae2Ui4Oo9x9' } },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/webhooks',
      tag: TAG,
      summary: 'List event subscriptions',
      query: pageQuery,
      success: { status: 200, description: 'A page of subscriptions, secrets masked.', example: pageOf(webhookExample) },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/webhooks/{id}',
      tag: TAG,
      summary: 'Get an event subscription',
      params: webhookId,
      success: { status: 200, description: 'The subscription, secret masked.', example: webhookExample },
      errors: [404],
    },
    {
      method: 'patch',
      path: '/api/webhooks/{id}',
      tag: TAG,
      summary: 'Change an event subscription',
      description: 'Only the fields sent change; the masked secret sent back keeps the stored one.',
      params: webhookId,
      body: {
        schema: patchWebhookSchema,
        examples: {
          pause: { summary: 'Pause deliveries', value: { enabled: false } },
          events: { summary: 'Also receive delivery receipts', value: { events: ['message.received', 'message.delivered', 'message.read', 'conversation.handover'] } },
        },
        check: checkEvents,
      },
      success: { status: 200, description: 'The subscription, secret masked.', example: webhookExample },
      errors: [400, 404, 422],
    },
    {
      method: 'delete',
      path: '/api/webhooks/{id}',
      tag: TAG,
      summary: 'Delete an event subscription',
      params: webhookId,
      success: { status: 204, description: 'Deleted; nothing more is delivered to it.' },
      errors: [404],
    },
    {
      method: 'get',
      path: '/api/webhooks/{id}/deliveries',
      tag: TAG,
      summary: 'List delivery attempts',
      description: 'Every attempt to deliver an event to this subscription, newest first, with the receiver\'s status or the error (kept 7 days).',
      params: webhookId,
      query: pageQuery,
      success: { status: 200, description: 'A page of attempts.', example: pageOf(deliveryExample) },
      errors: [400, 404, 422],
    },
  ],
}
