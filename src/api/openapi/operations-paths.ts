/**
 * What is not the admin API but is reached over HTTP, briefly: health, metrics, the provider webhook
 * endpoints (README: where each provider posts) and this reference. None takes a token.
 */
import { z } from 'zod'
import { IDS } from './examples.js'
import type { DocumentedGroup, DocumentedOperation } from './operation.js'

const OPS = 'Operations'
const WEBHOOKS = 'Provider webhooks'

const providerPayload = { type: 'object', description: "The provider's own webhook body, as it sends it." } as const

/**
 * A provider webhook: answered 200 once everything it carried is stored. Its refusals use the error
 * shape, but not the token's statuses: `failures` says what each means here.
 */
function webhook(path: string, summary: string, description: string, contentType: string, failures: Record<number, string>, params?: z.ZodObject): DocumentedOperation {
  return {
    method: 'post',
    path,
    tag: WEBHOOKS,
    summary,
    description: `${description} Answered 200 only once everything it carried is committed; the provider retries anything else.`,
    ...(params ? { params } : {}),
    otherContent: { [contentType]: { schema: providerPayload } },
    success: { status: 200, description: 'Stored.' },
    otherResponses: Object.fromEntries(Object.entries(failures).map(([status, what]) => [status, { description: what }])),
    errors: [],
    public: true,
  }
}

export const operationsDocs: DocumentedGroup = {
  operations: [
    {
      method: 'get',
      path: '/healthz',
      tag: OPS,
      summary: 'Liveness',
      description: 'The process answers.',
      success: { status: 200, description: 'Alive.', example: { status: 'ok' } },
      errors: [],
      public: true,
    },
    {
      method: 'get',
      path: '/readyz',
      tag: OPS,
      summary: 'Readiness',
      description: 'The database answers and its migrations are applied.',
      success: { status: 200, description: 'Ready.', example: { status: 'ready' } },
      otherResponses: { 503: { description: 'Not ready: the database does not answer, or is not migrated yet.', example: { status: 'not_ready' } } },
      errors: [],
      public: true,
    },
    {
      method: 'get',
      path: '/metrics',
      tag: OPS,
      summary: 'Prometheus metrics',
      description: 'Requests, messages by direction and status, webhooks by outcome, queue depth and more, in the Prometheus text format.',
      success: { status: 200, description: 'The metrics.', contentType: 'text/plain', schema: { type: 'string' } },
      errors: [],
      public: true,
    },
    {
      method: 'get',
      path: '/api/openapi.json',
      tag: OPS,
      summary: 'This API reference',
      description: 'OpenAPI 3.1, generated at start-up from the schemas that validate the requests; `/api/docs` shows it.',
      success: { status: 200, description: 'The OpenAPI document.', schema: { type: 'object' } },
      errors: [],
      public: true,
    },
    {
      method: 'get',
      path: '/api/docs',
      tag: OPS,
      summary: 'This API reference, to read and try',
      description: 'Swagger UI, served by the gateway itself (nothing loads from elsewhere).',
      success: { status: 200, description: 'The page.', contentType: 'text/html', schema: { type: 'string' } },
      errors: [],
      public: true,
    },
    {
      method: 'get',
      path: '/channels/whatsapp/meta/incoming_message',
      tag: WEBHOOKS,
      summary: "Meta's verification handshake",
      description: "Meta calls it when you save the webhook in the App Dashboard: the `hub.verify_token` must be a Meta provider's `verify_token`.",
      query: z.object({
        'hub.mode': z.literal('subscribe'),
        'hub.verify_token': z.string(),
        'hub.challenge': z.string(),
      }),
      success: { status: 200, description: '`hub.challenge`, echoed.', contentType: 'text/plain', schema: { type: 'string' } },
      otherResponses: { 403: { description: 'The verify token matches no Meta provider.' } },
      errors: [],
      public: true,
    },
    webhook(
      '/channels/whatsapp/meta/incoming_message',
      'Meta webhook',
      'Messages and statuses of every Meta channel, signed `X-Hub-Signature-256` with the App Secret; template status updates too.',
      'application/json',
      { 400: 'The body is not a JSON object.', 401: 'The signature matches the App Secret of no Meta provider the body names.' },
    ),
    webhook(
      '/channels/whatsapp/twilio/incoming_message',
      'Twilio webhook',
      'Messages and status callbacks of every Twilio channel, signed `X-Twilio-Signature` with the auth token (checked against `PUBLIC_URL`). Answered with empty TwiML.',
      'application/x-www-form-urlencoded',
      { 400: 'The form is not one Twilio sends.', 403: "The signature does not match the provider's auth token.", 404: 'No Twilio channel has the number.' },
    ),
    webhook(
      '/channels/whatsapp/turn/{channelId}/incoming_message',
      'Turn.io webhook',
      "Messages and statuses of one Turn.io channel (its `webhook_url`), signed `X-Turn-Hook-Signature` with the provider's `hmac_secret` when it has one.",
      'application/json',
      { 400: 'The body is not a JSON object.', 401: "The signature does not match the provider's `hmac_secret`.", 404: 'No Turn.io channel has this id.' },
      z.object({ channelId: z.string().meta({ description: "The channel's id.", example: IDS.channel }) }),
    ),
  ],
}
