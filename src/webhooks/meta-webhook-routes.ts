/**
 * Meta Cloud API webhooks: one endpoint for every Meta channel, `/channels/whatsapp/meta/incoming_message`,
 * routed by `metadata.phone_number_id` (SPEC §5). GET answers the verification handshake; POST follows
 * SPEC §5 and §13's order exactly: raw bytes → JSON object (parsed once) → the numbers and accounts named
 * (a walk over `entry[] × changes[]`, no message read) → their providers, in one lookup however many are
 * named → the signature, with the app secret of every provider named → only then the messages and
 * statuses, of known numbers → commit everything → 200. An unsigned body costs no per-message work, and
 * one whose raw bytes name known numbers is refused before it is parsed at all (`scanMetaWebhookNames`).
 * Template status changes (`message_template_status_update`) ride the same endpoint, named by the
 * WhatsApp Business Account id (`entry[].id`): routed to the Meta providers of that account, signed with
 * their App Secret like any other. A batch naming numbers this gateway does not know is answered 200:
 * it is legitimate whatever it holds, and anything else would be retried by Meta for days.
 */
import { createHash } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { parseMetaWebhook, readMetaWebhookNames, scanMetaWebhookNames, verifyMetaSignature } from '../providers/index.js'
import {
  GW_ERR_WEBHOOK_BUSY,
  GW_ERR_WEBHOOK_MALFORMED,
  GW_ERR_WEBHOOK_SIGNATURE,
  GW_ERR_WEBHOOK_VERIFY_FAILED,
} from '../core/errors.js'
import { errorBody } from '../http/app.js'
import type { TemplateStatusUpdate } from '../store/repos/templates.js'
import { lookUpNamed } from '../routing/named-lookup.js'
import { createLargeBodyGate, DEFAULT_LARGE_BODY_GATE, type LargeBodyGateOptions } from './large-body-gate.js'
import type { RoutedWebhook, WebhookDeps } from './webhook-deps.js'

export const META_WEBHOOK_PATH = '/channels/whatsapp/meta/incoming_message'
const PROVIDER_TYPE = 'meta_cloud_api'
/** Meta sends up to 3 MB (protocols §1.4). */
const BODY_LIMIT = 3 * 1024 * 1024
/** Unknown ids named in one log line; the rest are counted. */
const LOGGED_IDS = 20

/** What the Meta endpoint needs beyond the shared webhook deps. */
export interface MetaWebhookModuleOptions {
  /** Applies a template's new status to one provider's stored templates (the store's templates repo). */
  applyTemplateStatus(providerId: string, update: TemplateStatusUpdate): Promise<unknown>
}

export function createMetaWebhookModule(deps: WebhookDeps, options?: MetaWebhookModuleOptions, gate: LargeBodyGateOptions = DEFAULT_LARGE_BODY_GATE): FastifyPluginAsync {
  const largeBodies = createLargeBodyGate(gate)
  const count = (outcome: string) => deps.metrics.webhooks.inc({ provider: 'meta', outcome })

  /** 401 for a signature the named providers' App Secrets do not match; each of them records the failure. */
  function refuseSignature(request: FastifyRequest, reply: FastifyReply, providerIds: readonly string[], header: string | undefined): FastifyReply {
    count('bad_signature')
    const message =
      header === undefined
        ? 'A webhook arrived without an X-Hub-Signature-256 header.'
        : "A webhook signature did not match this provider's App Secret: the App Secret does not match the app that sends these webhooks."
    for (const providerId of providerIds) deps.reportSignatureFailure(providerId, message, request.ip)
    request.log.warn({ providerIds, hasHeader: header !== undefined, source: request.ip }, 'webhook:signature:rejected')
    return reply.code(401).send(errorBody(GW_ERR_WEBHOOK_SIGNATURE('The X-Hub-Signature-256 header is missing or does not match the App Secret.')))
  }

  return async (app) => {
    // Raw bytes for every content type: the HMAC covers the exact body (Meta signs its escaped-unicode
    // form), so nothing may parse or re-serialise it first.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body))

    app.addHook('onError', async (_request, _reply, error) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') count('too_large')
    })

    app.get(META_WEBHOOK_PATH, async (request, reply) => {
      const query = request.query as Record<string, unknown>
      const mode = query['hub.mode']
      const token = query['hub.verify_token']
      const challenge = query['hub.challenge']
      if (mode === 'subscribe' && typeof token === 'string' && token.length > 0 && typeof challenge === 'string') {
        // Looked up by hash (an indexed column), so no provider's token is ever decrypted here.
        const hash = createHash('sha256').update(token).digest('hex')
        const providers = await deps.routing.providerIdsByVerifyTokenHash(hash)
        if (providers.length > 0) {
          count('verified')
          return reply.code(200).type('text/plain').send(challenge)
        }
      }
      count('verification_failed')
      return reply
        .code(403)
        .send(
          errorBody(
            GW_ERR_WEBHOOK_VERIFY_FAILED(
              'The verify token does not match any Meta provider; paste the verify_token of your provider into the Meta App Dashboard.',
            ),
          ),
        )
    })

    app.post(META_WEBHOOK_PATH, async (request, reply) => {
      const raw = request.body
      const release = await largeBodies.enter(Buffer.isBuffer(raw) ? raw.length : 0)
      if (release === undefined) {
        count('busy')
        return reply
          .code(503)
          .header('retry-after', '1')
          .send(errorBody(GW_ERR_WEBHOOK_BUSY('Too many large webhook bodies are being worked on at once; send it again in a second.')))
      }
      try {
        return await handlePost(request, reply, raw)
      } finally {
        release()
      }
    })
  }

  async function handlePost(request: FastifyRequest, reply: FastifyReply, raw: unknown): Promise<FastifyReply> {
    const signature = request.headers['x-hub-signature-256']
    const header = Array.isArray(signature) ? undefined : signature
    // One HMAC per App Secret per request: the early check and the full one below ask of the same secrets.
    const checked = new Map<string, boolean>()
    const signedWith = (appSecret: unknown): boolean => {
      if (typeof appSecret !== 'string' || appSecret === '' || !Buffer.isBuffer(raw)) return false
      let valid = checked.get(appSecret)
      if (valid === undefined) {
        valid = verifyMetaSignature(raw, header, appSecret)
        checked.set(appSecret, valid)
      }
      return valid
    }
    if (Buffer.isBuffer(raw) && raw.length > 0) {
      // Before any parse: when the raw bytes name known numbers or accounts and the signature matches
      // none of their App Secrets, the body is forged (or its provider's secret is wrong): refused for
      // the cost of a scan and an HMAC, not of a parse (a flood of 3 MB forgeries once exhausted the
      // heap). A signature matching one of them goes on to the full check below.
      const early = scanMetaWebhookNames(raw, options !== undefined)
      const candidates = await lookUpNamed(deps.routing, PROVIDER_TYPE, { fromIdentifiers: early.phoneNumberIds, accountIds: early.accountIds })
      if (candidates.providers.size > 0) {
        if (![...candidates.providers.values()].some((provider) => signedWith(provider.config.app_secret))) {
          return refuseSignature(request, reply, [...candidates.providers.keys()], header)
        }
      }
    }
    let text: string
    let body: unknown
    try {
      if (!Buffer.isBuffer(raw) || raw.length === 0) throw new Error('empty')
      text = raw.toString('utf8')
      body = JSON.parse(text)
    } catch {
      count('malformed')
      return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_MALFORMED('The webhook body is not JSON; Meta sends a JSON object.')))
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      count('malformed')
      return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_MALFORMED('The webhook body must be a JSON object.')))
    }

    // Who must have signed it: the numbers and accounts named, read without touching a message.
    const names = readMetaWebhookNames(body)
    if (names.ignored) {
      count('ignored')
      return reply.code(200).send()
    }
    // All of them in one lookup; unknown numbers are skipped (counted, logged), the rest still lands.
    const known = await lookUpNamed(deps.routing, PROVIDER_TYPE, {
      fromIdentifiers: names.phoneNumberIds,
      accountIds: options === undefined ? [] : names.accountIds,
    })
    const unknown = names.phoneNumberIds.filter((id) => !known.channels.has(id))
    const unknownAccounts = options === undefined ? [] : names.accountIds.filter((id) => !known.accounts.has(id))
    if (unknown.length > 0 || unknownAccounts.length > 0) {
      // A body may name thousands of made-up ids: the log names a few and counts the rest.
      request.log.warn(
        {
          unknownPhoneNumberIds: unknown.slice(0, LOGGED_IDS),
          unknownPhoneNumberIdCount: unknown.length,
          unknownAccountIds: unknownAccounts.slice(0, LOGGED_IDS),
        },
        'webhook:meta:unrouted',
      )
    }
    if (known.channels.size === 0 && known.accounts.size === 0) {
      count('unrouted')
      return reply.code(200).send()
    }

    // Verify with the app secret of EVERY provider the payload names: a valid signature from one app
    // must not carry events for another provider's numbers.
    const signers = new Set([...[...known.channels.values()].map((channel) => channel.providerId), ...[...known.accounts.values()].flat()])
    const failed = [...signers].filter((providerId) => !signedWith(known.providers.get(providerId)?.config.app_secret))
    if (failed.length > 0) return refuseSignature(request, reply, failed, header)
    for (const providerId of signers) deps.reportWebhookVerified(providerId)

    // Only now, with the signature held, is any message read: those of known numbers only.
    const parsed = parseMetaWebhook(body, {
      receivedAtMs: deps.clock.now(),
      rawText: text,
      phoneNumberIds: new Set(known.channels.keys()),
    })
    if (parsed.skipped > 0) request.log.warn({ skippedItems: parsed.skipped }, 'webhook:meta:skipped')

    for (const update of parsed.templateUpdates) {
      for (const providerId of known.accounts.get(update.accountId) ?? []) {
        await options?.applyTemplateStatus(providerId, update)
        request.log.info({ providerId, template: update.name, language: update.language, status: update.status }, 'webhook:meta:template-status')
      }
    }
    const routed: RoutedWebhook = parsed.routes.flatMap((events) => {
      const channel = known.channels.get(events.fromIdentifier)
      return channel === undefined ? [] : [{ channel, events }]
    })
    if (routed.length === 0) {
      count('accepted')
      return reply.code(200).send()
    }

    const nowMs = deps.clock.now()
    const result = await deps.ingest(routed, nowMs)
    if (result.jobs > 0) deps.onJobsEnqueued()
    deps.recordIngest('meta', result)
    count(result.stored === 0 && result.duplicates > 0 && result.statuses.applied === 0 ? 'duplicate' : 'accepted')
    return reply.code(200).send()
  }
}
