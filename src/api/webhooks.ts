/**
 * Event webhooks (SPEC §12.1): a team's subscriptions to its events. The signing secret is shown in
 * full once, in the answer to the creation (generated when not given), and masked everywhere else; a
 * PATCH that sends the masked secret back keeps the stored one. `GET /api/webhooks/{id}/deliveries`
 * lists the recorded attempts to deliver, newest first. Delivering is a task's job, not this file's.
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { GW_ERR_API_INVALID_VALUE } from '../core/errors.js'
import { EVENT_TYPES, isEventType, type EventType } from '../core/events.js'
import { isMaskOf, maskSecret } from '../core/secret-box.js'
import { isMaskedUrlOf, looksMaskedUrl, maskUrl } from '../core/scrub.js'
import { createEventWebhooksRepo, listEventDeliveries, type EventDelivery, type EventWebhook } from '../store/repos/event-webhooks.js'
import { checkTeamUrl } from './url-policy.js'
import { callerOf } from './auth.js'
import { idParam, notFound, type ApiRoutes } from './api-context.js'
import type { WebhookDeliveryDto, WebhookDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { parseBody } from './validation.js'

const URL_MAX = 2048
/** Shortest accepted signing secret: shorter ones could be guessed from a few signatures offline. */
const SECRET_MIN = 16
const SECRET_MAX = 256
const DESCRIPTION_MAX = 500
/** How much of an unknown event type an error quotes back. */
const QUOTED_MAX = 60

const TYPES_LIST = EVENT_TYPES.join(', ')

const urlSchema = z
  .url({ protocol: /^https?$/, error: 'must be the http:// or https:// URL Switchboard POSTs each event to' })
  .max(URL_MAX)

// Elements are checked by `checkEvents`, so an unknown type is named by its index (`events[2]`).
const eventsSchema = z
  .array(z.unknown(), { error: `must be a JSON array of event types (${TYPES_LIST})` })
  .min(1, { error: `must list at least one event type (${TYPES_LIST})` })

const descriptionSchema = z.string().trim().max(DESCRIPTION_MAX).nullable()

export const createWebhookSchema = z.strictObject({
  url: urlSchema,
  events: eventsSchema,
  secret: z
    .string()
    .min(SECRET_MIN, { error: `must be at least ${SECRET_MIN} characters long; it signs every event (leave it out to get a generated one)` })
    .max(SECRET_MAX)
    .optional(),
  description: descriptionSchema.optional(),
  enabled: z.boolean().optional(),
})

export const patchWebhookSchema = z.strictObject({
  url: urlSchema.optional(),
  events: eventsSchema.optional(),
  // Its length is checked once we know it is not the stored secret sent back masked.
  secret: z.string().max(SECRET_MAX).optional(),
  description: descriptionSchema.optional(),
  enabled: z.boolean().optional(),
})

/** The event types of a request, each checked and named by its index; duplicates dropped, order kept. */
function checkEvents(events: readonly unknown[]): EventType[] {
  events.forEach((value, index) => {
    if (isEventType(value)) return
    const field = `events[${index}]`
    const given = typeof value === 'string' ? ` ("${value.slice(0, QUOTED_MAX)}")` : ''
    throw GW_ERR_API_INVALID_VALUE(`"${field}"${given} is not an event type; the event types are ${TYPES_LIST}.`, { field })
  })
  return [...new Set(events as EventType[])]
}

/** An empty description is no description. */
function descriptionOf(value: string | null): string | null {
  return value === null || value === '' ? null : value
}

/** A fresh signing secret: 32 random bytes, prefixed so a person recognises what it is. */
function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`
}

/** The secret a PATCH stores: undefined keeps the current one (not sent, or sent back masked). */
function patchedSecret(sent: string | undefined, current: string): string | undefined {
  if (sent === undefined || isMaskOf(sent, current)) return undefined
  if (sent.length < SECRET_MIN) {
    throw GW_ERR_API_INVALID_VALUE(
      `"secret" must be at least ${SECRET_MIN} characters long; it signs every event (send the masked value back to keep the current one).`,
      { field: 'secret' },
    )
  }
  return sent
}

/** A webhook as the API shows it: the secret masked. */
export function presentWebhook(webhook: EventWebhook): WebhookDto {
  return {
    id: webhook.id,
    // A password in the URL (`https://user:pass@…`) is a credential: shown masked, like the secret.
    url: maskUrl(webhook.url),
    events: webhook.events,
    enabled: webhook.enabled,
    description: webhook.description,
    secret: maskSecret(webhook.secret),
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
  }
}

/** A recorded delivery attempt as the API shows it. */
export function presentDelivery(delivery: EventDelivery): WebhookDeliveryDto {
  return {
    id: delivery.id,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    attempt: delivery.attempt,
    status_code: delivery.statusCode,
    duration_ms: delivery.durationMs,
    error: delivery.error,
    created_at: delivery.createdAt,
  }
}

/** Registers the event webhook routes. */
export const webhookRoutes: ApiRoutes = (server, context) => {
  const webhooks = createEventWebhooksRepo(context.deps)

  server.post('/api/webhooks', async (request, reply) => {
    const caller = callerOf(request)
    const body = parseBody(createWebhookSchema, request.body)
    checkTeamUrl(context.deps, body.url, 'url')
    if (looksMaskedUrl(body.url)) {
      throw GW_ERR_API_INVALID_VALUE('"url" carries a masked password (••••); send the full URL with its password.', { field: 'url' })
    }
    const events = checkEvents(body.events)
    const webhook = await webhooks.create({
      teamId: caller.teamId,
      url: body.url,
      events,
      secret: body.secret ?? generateSecret(),
      enabled: body.enabled ?? true,
      description: descriptionOf(body.description ?? null),
    })
    request.log.info({ teamId: caller.teamId, webhookId: webhook.id, events }, 'api:webhook:created')
    // The one time the secret is shown: a generated one cannot be read again.
    return reply.code(201).send({ ...presentWebhook(webhook), secret: webhook.secret })
  })

  server.get('/api/webhooks', async (request) => {
    const caller = callerOf(request)
    const page = parsePageQuery(request.query)
    return toPage(await webhooks.list(caller.teamId, probe(page)), page, presentWebhook)
  })

  server.get('/api/webhooks/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'webhook')
    const webhook = await webhooks.get(caller.teamId, id)
    if (!webhook) throw notFound('webhook', id)
    return presentWebhook(webhook)
  })

  server.patch('/api/webhooks/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'webhook')
    const body = parseBody(patchWebhookSchema, request.body)
    checkTeamUrl(context.deps, body.url, 'url')
    const events = body.events === undefined ? undefined : checkEvents(body.events)
    const current = await webhooks.get(caller.teamId, id)
    if (!current) throw notFound('webhook', id)
    const secret = patchedSecret(body.secret, current.secret)
    // The masked URL sent back keeps the stored one; another masked URL would store the mask as a password.
    const url = body.url === undefined || isMaskedUrlOf(body.url, current.url) ? undefined : body.url
    if (url !== undefined && looksMaskedUrl(url)) {
      throw GW_ERR_API_INVALID_VALUE('"url" carries a masked password (••••) that is not the stored one; send the full URL with its password.', { field: 'url' })
    }
    const webhook = await webhooks.update(caller.teamId, id, {
      ...(url !== undefined ? { url } : {}),
      ...(events !== undefined ? { events } : {}),
      ...(secret !== undefined ? { secret } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...(body.description !== undefined ? { description: descriptionOf(body.description) } : {}),
    })
    if (!webhook) throw notFound('webhook', id)
    request.log.info({ teamId: caller.teamId, webhookId: id, secretChanged: secret !== undefined }, 'api:webhook:updated')
    return presentWebhook(webhook)
  })

  server.delete('/api/webhooks/:id', async (request, reply) => {
    const caller = callerOf(request)
    const id = idParam(request, 'webhook')
    if (!(await webhooks.delete(caller.teamId, id))) throw notFound('webhook', id)
    request.log.info({ teamId: caller.teamId, webhookId: id }, 'api:webhook:deleted')
    return reply.code(204).send()
  })

  server.get('/api/webhooks/:id/deliveries', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'webhook')
    const page = parsePageQuery(request.query)
    if (!(await webhooks.get(caller.teamId, id))) throw notFound('webhook', id)
    // Newest first: the cursor is the oldest id of the previous page, and the next page is older still.
    const rows = await listEventDeliveries(context.deps.store.db, { webhookId: id, limit: page.limit + 1, beforeId: page.afterId })
    return toPage(rows, page, presentDelivery)
  })
}
