/**
 * Turn.io webhooks: one endpoint per channel, `/channels/whatsapp/turn/{channel_id}/incoming_message`
 * (SPEC §5), because Turn's bodies do not name the business number. POST, in order (SPEC §13): raw bytes
 * → the channel the URL names and its provider (cached lookups; unknown, or not a Turn.io channel → 404)
 * → `X-Turn-Hook-Signature` with the provider's `hmac_secret` (401 when set and not matched; without a
 * secret the webhook is accepted and the provider's health says so) → only then UTF-8, JSON (else 400)
 * and the messages → commit → 200. Nothing of the body is read before the signature holds.
 */
import type { FastifyPluginAsync } from 'fastify'
import { parseTurnWebhook, verifyTurnSignature } from '../providers/index.js'
import { GW_ERR_WEBHOOK_ENCODING, GW_ERR_WEBHOOK_MALFORMED, GW_ERR_WEBHOOK_SIGNATURE, GW_ERR_WEBHOOK_UNKNOWN_CHANNEL } from '../core/errors.js'
import type { ProviderWithConfig } from '../routing/routing-cache.js'
import { errorBody } from '../http/app.js'
import type { WebhookDeps } from './webhook-deps.js'

/** SPEC §5: one endpoint per Turn.io channel, named by its id. */
export const TURN_WEBHOOK_PATH = '/channels/whatsapp/turn/:channelId/incoming_message'
const PROVIDER_TYPE = 'turnio'
/** Turn relays WhatsApp's payloads, which Meta caps at 3 MB (protocols §1.4). */
const BODY_LIMIT = 3 * 1024 * 1024
/** JSON is UTF-8 (RFC 8259); other bytes would be stored as U+FFFD, so they are refused instead. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
/** Health writes about webhook signing, at most one per provider and state in this interval. */
const HEALTH_WRITE_INTERVAL_MS = 60_000

/** The Turn.io endpoint as a Fastify plugin. */
export function createTurnWebhookModule(deps: WebhookDeps): FastifyPluginAsync {
  const count = (outcome: string) => deps.metrics.webhooks.inc({ provider: PROVIDER_TYPE, outcome })
  const lastHealthWrite = new Map<string, number>()

  /**
   * Keeps the provider's health true to how its webhooks arrive: `unsigned_webhooks` while it has no
   * secret, back to `ok` once signed webhooks verify. Throttled (a webhook flood is not a write flood),
   * and never over `token_invalid`, which holds the provider's sends until its config is fixed.
   */
  const noteSigning = (provider: ProviderWithConfig, signed: boolean) => {
    const wanted = signed ? 'ok' : 'unsigned_webhooks'
    if (provider.health === wanted || provider.health === 'token_invalid' || (signed && provider.health !== 'unsigned_webhooks')) return
    // Keyed by the state written, so a secret added right after an unsigned webhook clears it at once.
    const key = `${provider.id}:${wanted}`
    const now = deps.clock.now()
    if ((lastHealthWrite.get(key) ?? -Infinity) > now - HEALTH_WRITE_INTERVAL_MS) return
    lastHealthWrite.set(key, now)
    const message = signed
      ? null
      : 'Turn.io webhooks arrive unsigned: this provider has no hmac_secret, so anyone who knows a channel\'s webhook URL can post to it. Set the webhook secret from Turn\'s API & Webhooks settings as hmac_secret.'
    // Only while the config is the one seen here: a secret added a moment ago must not be reported missing.
    void deps.routing
      .recordProviderHealth(provider.id, wanted, message, provider.configVersion)
      .catch(() => lastHealthWrite.delete(key))
  }

  return async (app) => {
    // Raw bytes for every content type: the HMAC covers the exact body.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body))

    app.addHook('onError', async (_request, _reply, error) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') count('too_large')
    })

    app.post<{ Params: { channelId: string } }>(TURN_WEBHOOK_PATH, async (request, reply) => {
      const { channelId } = request.params
      const channel = await deps.routing.channelById(channelId)
      const provider = channel?.providerType === PROVIDER_TYPE ? await deps.routing.providerById(channel.providerId) : undefined
      if (!channel || !provider) {
        count('unrouted')
        return reply
          .code(404)
          .send(
            errorBody(
              GW_ERR_WEBHOOK_UNKNOWN_CHANNEL(
                'No Turn.io channel has this webhook URL; copy the webhook_url of the channel into Turn\'s API & Webhooks settings.',
              ),
            ),
          )
      }

      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const secret = provider.config.hmac_secret ?? ''
      if (secret !== '') {
        const signature = request.headers['x-turn-hook-signature']
        const header = Array.isArray(signature) ? undefined : signature
        if (!verifyTurnSignature(raw, header, secret)) {
          count('bad_signature')
          deps.reportSignatureFailure(
            provider.id,
            header === undefined
              ? 'A Turn.io webhook arrived without an X-Turn-Hook-Signature header, and this provider has an hmac_secret.'
              : "A Turn.io webhook signature did not match this provider's hmac_secret: it is not the webhook secret in Turn's settings.",
            request.ip,
          )
          request.log.warn({ providerId: provider.id, hasHeader: header !== undefined, source: request.ip }, 'webhook:signature:rejected')
          return reply
            .code(401)
            .send(errorBody(GW_ERR_WEBHOOK_SIGNATURE("The X-Turn-Hook-Signature header is missing or does not match the provider's hmac_secret.")))
        }
        // Only a verified signature is evidence: an unsigned webhook could come from anyone.
        deps.reportWebhookVerified(provider.id)
      }
      noteSigning(provider, secret !== '')

      let text: string
      try {
        text = strictUtf8.decode(raw)
      } catch {
        count('malformed')
        return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_ENCODING('The webhook body is not UTF-8; Turn.io sends JSON in UTF-8.')))
      }
      let body: unknown
      try {
        if (text.length === 0) throw new Error('empty')
        body = JSON.parse(text)
      } catch {
        count('malformed')
        return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_MALFORMED('The webhook body is not JSON; Turn.io sends a JSON object.')))
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        count('malformed')
        return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_MALFORMED('The webhook body must be a JSON object, with messages or statuses.')))
      }

      const subscription = request.headers['x-turn-hook-subscription']
      const parsed = parseTurnWebhook(body, {
        receivedAtMs: deps.clock.now(),
        subscription: Array.isArray(subscription) ? subscription[0] : subscription,
      })
      if (parsed.ignored) {
        count('ignored')
        return reply.code(200).send()
      }
      if (parsed.skipped > 0) request.log.warn({ channelId, skippedItems: parsed.skipped }, 'webhook:turn:skipped')

      const nowMs = deps.clock.now()
      const events = { fromIdentifier: channel.fromIdentifier, messages: parsed.messages, statuses: parsed.statuses }
      const result = await deps.ingest([{ channel, events }], nowMs)
      if (result.jobs > 0) deps.onJobsEnqueued()
      deps.recordIngest(PROVIDER_TYPE, result)
      count(result.stored === 0 && result.duplicates > 0 && result.statuses.applied === 0 ? 'duplicate' : 'accepted')
      return reply.code(200).send()
    })
  }
}
