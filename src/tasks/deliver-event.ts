/**
 * `event.deliver`: POSTs one event to one subscription (SPEC §12.1). Runs on the `events` runner, in the
 * lane of its subscription and conversation, so a conversation's events arrive in order and a slow or
 * dead receiver holds neither the message flow nor another conversation's events.
 *
 * The body is `{id, type, created_at, team_id, data}`, `data` rendered now (api/event-data.ts), signed
 * `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body>`, with the event id as
 * `Idempotency-Key`: a retry after a lost answer sends the same id, and the receiver deduplicates.
 * A 2xx is done; anything else (status, timeout, network error) is retried with backoff until the
 * event is 24 h old, then the job is dead (listed with failed work, retriable). Every attempt is logged
 * in the subscription's deliveries. Redirects are not followed: the receiver's URL is the one given.
 */
import { createHmac } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { EventJobPayload, StoredEvent } from '../core/events.js'
import { isoAt } from '../core/clock.js'
import { newId } from '../core/ids.js'
import { PermanentJobError, type Task } from '../queue/job.js'
import type { TaskDeps } from './task-deps.js'

/** What the delivery task needs beyond the common deps. */
export interface EventDeliveryDeps {
  /** The subscription a job names, with its secret; undefined when deleted. Cached briefly by the caller. */
  webhookById(id: string): Promise<{ id: string; url: string; enabled: boolean; secret: string } | undefined>
  /** The event's `data`, rendered as the API shows the resource now. */
  renderEventData(event: StoredEvent): Promise<Record<string, unknown>>
  dispatcher: Dispatcher
  /** Per attempt, connect to last byte (SPEC: 10 s). */
  timeoutMs: number
  /** How long after the event its delivery is still retried (SPEC: 24 h). */
  retryWindowMs: number
}

/** What an attempt's log keeps of the receiver's answer or the failure. */
const ERROR_CHARS = 200

export function createDeliverEventTask(deps: Pick<TaskDeps, 'store' | 'clock' | 'logger' | 'metrics'>, events: EventDeliveryDeps): Task {
  const { store, clock, logger, metrics } = deps

  /** One POST; resolves with the status (and the start of a non-2xx body), throws on no answer. */
  async function post(url: URL, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; excerpt: string }> {
    const timeout = AbortSignal.timeout(events.timeoutMs)
    const response = await events.dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.any([signal, timeout]),
      headersTimeout: events.timeoutMs,
      bodyTimeout: events.timeoutMs,
    })
    let excerpt = ''
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump()
    } else {
      // A few hundred bytes say why; the rest is not read (a receiver's error page can be large).
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of response.body) {
        chunks.push(chunk as Buffer)
        size += (chunk as Buffer).length
        if (size >= 1024) break
      }
      response.body.destroy()
      excerpt = Buffer.concat(chunks).toString('utf8').slice(0, ERROR_CHARS)
    }
    return { status: response.statusCode, excerpt }
  }

  return {
    // 1 s doubling to 10 min: a receiver back after an outage gets its backlog within minutes.
    backoff: { baseMs: 1000, maxMs: 600_000 },

    async run(payload, context) {
      const { webhookId, event } = payload as EventJobPayload
      const webhook = await events.webhookById(webhookId)
      // Deleted or switched off since: its events are not wanted any more.
      if (webhook === undefined || !webhook.enabled) return
      const ageMs = clock.now() - Date.parse(event.createdAt)
      const body = JSON.stringify({ id: event.id, type: event.type, created_at: event.createdAt, team_id: event.teamId, data: await events.renderEventData(event) })
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Switchboard-Events/1',
        'x-switchboard-signature': `sha256=${createHmac('sha256', webhook.secret).update(body).digest('hex')}`,
        'x-switchboard-event': event.type,
        'idempotency-key': event.id,
      }
      const started = clock.now()
      let statusCode: number | null = null
      let problem: string | null = null
      try {
        const answer = await post(new URL(webhook.url), body, headers, context.signal)
        statusCode = answer.status
        if (answer.status < 200 || answer.status >= 300) {
          problem = `the receiver answered HTTP ${answer.status}${answer.excerpt === '' ? '' : `: ${answer.excerpt.replace(/\s+/g, ' ').trim()}`}`.slice(0, ERROR_CHARS + 40)
        }
      } catch (error) {
        if (context.signal.aborted) throw error
        problem = describeFailure(error, events.timeoutMs)
      }
      const durationMs = clock.now() - started
      await store.flow.recordDelivery({
        id: newId('dlv', clock.now()),
        webhookId,
        eventId: event.id,
        eventType: event.type,
        attempt: context.job.attempts,
        statusCode,
        durationMs,
        error: problem,
        createdAtIso: isoAt(clock.now()),
      })
      metrics.eventDeliveries.inc({ outcome: problem === null ? 'delivered' : 'failed' })
      if (problem === null) return
      logger.info({ webhookId, eventId: event.id, type: event.type, attempt: context.job.attempts, statusCode }, 'event:delivery:failed')
      const message = `Event ${event.id} (${event.type}) could not be delivered to ${shownUrl(webhook.url)}: ${problem}.`
      // Past the window: dead, with the other failed work, where an operator can retry it.
      if (ageMs + durationMs >= events.retryWindowMs) throw new PermanentJobError(`${message} Retried for ${Math.round(events.retryWindowMs / 3_600_000)} h; given up.`)
      throw new Error(message)
    },
  }
}

/** The URL as logs and errors show it: no userinfo or query, which may carry credentials. */
function shownUrl(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : null
  return parsed === null ? 'the webhook URL' : `${parsed.origin}${parsed.pathname}`
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string; cause?: { code?: string } }
  const code = err.code ?? err.cause?.code
  if (err.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return `no answer within ${timeoutMs / 1000} s`
  }
  if (code === 'ECONNREFUSED') return 'the connection was refused (is the receiver running?)'
  if (code === 'ERR_URL_NOT_ALLOWED') return 'its address is private, loopback or link-local, which the gateway does not call for a team (an operator can allow it with SWITCHBOARD_ALLOW_PRIVATE_URLS=true)'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'its host name did not resolve'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection was closed before an answer'
  return `a network error (${code ?? err.name ?? 'unknown'})`
}
