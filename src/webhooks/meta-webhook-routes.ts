/**
 * Meta Cloud API webhooks: one endpoint for every Meta channel, `/channels/whatsapp/meta/incoming_message`,
 * routed by `metadata.phone_number_id` (SPEC §5). GET answers the verification handshake; POST follows
 * SPEC §5's order exactly: raw bytes → JSON object → route every entry × change → verify the signature
 * with the app secret of every provider named → commit everything → 200. Template status changes
 * (`message_template_status_update`) ride the same endpoint, named by the WhatsApp Business Account id
 * (`entry[].id`): routed to the Meta providers of that account, signed with their App Secret like any other.
 */
import { createHash } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { parseMetaWebhook, verifyMetaSignature } from '../providers/index.js'
import {
  GW_ERR_WEBHOOK_MALFORMED,
  GW_ERR_WEBHOOK_SIGNATURE,
  GW_ERR_WEBHOOK_VERIFY_FAILED,
} from '../core/errors.js'
import { errorBody } from '../http/app.js'
import type { TemplateStatusUpdate } from '../store/repos/templates.js'
import type { RoutedWebhook, WebhookDeps } from './webhook-deps.js'

export const META_WEBHOOK_PATH = '/channels/whatsapp/meta/incoming_message'
const PROVIDER_TYPE = 'meta_cloud_api'
/** Meta sends up to 3 MB (protocols §1.4). */
const BODY_LIMIT = 3 * 1024 * 1024

/** What the Meta endpoint needs beyond the shared webhook deps. */
export interface MetaWebhookModuleOptions {
  /** Applies a template's new status to one provider's stored templates (the store's templates repo). */
  applyTemplateStatus(providerId: string, update: TemplateStatusUpdate): Promise<unknown>
}

export function createMetaWebhookModule(deps: WebhookDeps, options?: MetaWebhookModuleOptions): FastifyPluginAsync {
  const count = (outcome: string) => deps.metrics.webhooks.inc({ provider: 'meta', outcome })

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
      let body: unknown
      try {
        if (!Buffer.isBuffer(raw) || raw.length === 0) throw new Error('empty')
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        count('malformed')
        return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_MALFORMED('The webhook body is not JSON; Meta sends a JSON object.')))
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        count('malformed')
        return reply.code(400).send(errorBody(GW_ERR_WEBHOOK_MALFORMED('The webhook body must be a JSON object.')))
      }

      const parsed = parseMetaWebhook(body, { receivedAtMs: deps.clock.now(), rawText: (raw as Buffer).toString('utf8') })
      if (parsed.ignored) {
        count('ignored')
        return reply.code(200).send()
      }

      // Route every value; unknown numbers are skipped (counted, logged), the rest still lands.
      const routed: RoutedWebhook = []
      const unknown: string[] = []
      for (const events of parsed.routes) {
        const channel = await deps.routing.channelByRoute(PROVIDER_TYPE, events.fromIdentifier)
        if (channel) routed.push({ channel, events })
        else unknown.push(events.fromIdentifier)
      }
      // Template updates go to every Meta provider of the account they name; unknown accounts are skipped.
      const templateTargets: Array<{ providerId: string; update: TemplateStatusUpdate }> = []
      const unknownAccounts: string[] = []
      if (options !== undefined) {
        for (const update of parsed.templateUpdates) {
          const providerIds = await deps.routing.providerIdsByAccount(PROVIDER_TYPE, update.accountId)
          if (providerIds.length === 0) unknownAccounts.push(update.accountId)
          for (const providerId of providerIds) templateTargets.push({ providerId, update })
        }
      }
      if (unknown.length > 0 || unknownAccounts.length > 0 || parsed.skipped > 0) {
        request.log.warn(
          { unknownPhoneNumberIds: unknown, unknownAccountIds: [...new Set(unknownAccounts)], skippedItems: parsed.skipped },
          'webhook:meta:unrouted',
        )
      }
      if (routed.length === 0 && templateTargets.length === 0) {
        count('unrouted')
        return reply.code(200).send()
      }

      // Verify with the app secret of EVERY provider the payload names: a valid signature from one app
      // must not carry events for another provider's numbers.
      const signature = request.headers['x-hub-signature-256']
      const header = Array.isArray(signature) ? undefined : signature
      const providerIds = [...new Set([...routed.map((r) => r.channel.providerId), ...templateTargets.map((t) => t.providerId)])]
      for (const providerId of providerIds) {
        const provider = await deps.routing.providerById(providerId)
        const appSecret = provider?.config.app_secret
        if (!appSecret || !verifyMetaSignature(raw as Buffer, header, appSecret)) {
          count('bad_signature')
          deps.reportSignatureFailure(
            providerId,
            header === undefined
              ? 'A webhook arrived without an X-Hub-Signature-256 header.'
              : 'A webhook signature did not match this provider\'s App Secret: the App Secret does not match the app that sends these webhooks.',
          )
          request.log.warn({ providerId, hasHeader: header !== undefined }, 'webhook:signature:rejected')
          return reply
            .code(401)
            .send(errorBody(GW_ERR_WEBHOOK_SIGNATURE('The X-Hub-Signature-256 header is missing or does not match the App Secret.')))
        }
      }
      for (const providerId of providerIds) deps.reportWebhookVerified(providerId)

      for (const { providerId, update } of templateTargets) {
        await options?.applyTemplateStatus(providerId, update)
        request.log.info({ providerId, template: update.name, language: update.language, status: update.status }, 'webhook:meta:template-status')
      }
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
    })
  }
}
