/**
 * Twilio webhooks: one endpoint for every Twilio channel, `/channels/whatsapp/twilio/incoming_message`
 * (SPEC §5), taking inbound WhatsApp messages (routed by `To`) and the status callbacks of our sends
 * (routed by `From`). POST, in order (SPEC §13): raw bytes → strict form decoding (the signature covers
 * the fields) → the number the request is for (one field, one phone number parsed) → its channel and
 * provider, in one lookup → `X-Twilio-Signature` against the public URL with the provider's auth token →
 * only then the message or status → commit → 200 with empty TwiML. Replies never go in the TwiML: the
 * bot runs after the request, and answers through the REST API.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { decodeTwilioForm, parseTwilioWebhook, readTwilioRoute, verifyTwilioSignature } from '../providers/index.js'
import {
  GW_ERR_WEBHOOK_ENCODING,
  GW_ERR_WEBHOOK_INVALID_FIELD,
  GW_ERR_WEBHOOK_MISSING_FIELD,
  GW_ERR_WEBHOOK_REPEATED_FIELD,
  GW_ERR_WEBHOOK_SIGNATURE_FORBIDDEN,
  GW_ERR_WEBHOOK_UNKNOWN_CHANNEL,
  type ErrorDefinition,
} from '../core/errors.js'
import { errorBody } from '../http/app.js'
import { lookUpNamed } from '../routing/named-lookup.js'
import type { WebhookDeps } from './webhook-deps.js'

/** SPEC §5: one endpoint for every Twilio channel (messages and status callbacks). */
export const TWILIO_WEBHOOK_PATH = '/channels/whatsapp/twilio/incoming_message'
const PROVIDER_TYPE = 'twilio'
/** The same limit as every webhook; Twilio's form bodies are a few kB. */
const BODY_LIMIT = 3 * 1024 * 1024
/** The empty TwiML document: "received, nothing to do now" (protocols §5.1). */
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

/** What the Twilio endpoint needs beyond the shared webhook deps. */
export interface TwilioWebhookOptions {
  /** `PUBLIC_URL`: the signed URL is this + path + query. Undefined = derived from each request. */
  publicUrl: string | undefined
}

/** The Twilio endpoint as a Fastify plugin. */
export function createTwilioWebhookModule(deps: WebhookDeps, options: TwilioWebhookOptions): FastifyPluginAsync {
  const count = (outcome: string) => deps.metrics.webhooks.inc({ provider: PROVIDER_TYPE, outcome })

  return async (app) => {
    // Raw bytes for every content type: the form is decoded strictly here, and the signature covers
    // exactly what was sent.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) => done(null, body))

    app.addHook('onError', async (_request, _reply, error) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') count('too_large')
    })

    app.post(TWILIO_WEBHOOK_PATH, async (request, reply) => {
      // A form that cannot be read or routed is answered 400 with the reason, before any lookup; the
      // message's own fields are read, and refused, only once the signature held.
      const refuse = (definition: ErrorDefinition, message: string, field?: string) => {
        count('malformed')
        return reply.code(400).send(errorBody(definition(message, field === undefined ? {} : { field })))
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const form = decodeTwilioForm(raw)
      if (!form.ok) {
        if (form.problem === 'repeated') return refuse(GW_ERR_WEBHOOK_REPEATED_FIELD, form.message, form.field)
        return refuse(GW_ERR_WEBHOOK_ENCODING, form.message)
      }
      // Only the number is read before the signature holds; the message's fields wait for it.
      const route = readTwilioRoute(form.fields)
      if (!route.ok) {
        return refuse(route.problem === 'missing_field' ? GW_ERR_WEBHOOK_MISSING_FIELD : GW_ERR_WEBHOOK_INVALID_FIELD, route.message, route.field)
      }

      const number = route.number
      const known = await lookUpNamed(deps.routing, PROVIDER_TYPE, { fromIdentifiers: [number] })
      const channel = known.channels.get(number)
      if (!channel) {
        count('unrouted')
        request.log.warn({ number, kind: route.kind }, 'webhook:twilio:unrouted')
        return reply
          .code(404)
          .send(
            errorBody(
              GW_ERR_WEBHOOK_UNKNOWN_CHANNEL(
                `No Twilio channel has the number ${number}; create a channel for it, or point this number's webhook elsewhere in the Twilio Console.`,
              ),
            ),
          )
      }

      const signature = request.headers['x-twilio-signature']
      const header = Array.isArray(signature) ? undefined : signature
      const authToken = known.providers.get(channel.providerId)?.config.auth_token
      const urls = signedUrlsOf(request, options.publicUrl)
      if (!authToken || !verifyTwilioSignature(urls, form.pairs, header, authToken)) {
        count('bad_signature')
        deps.reportSignatureFailure(
          channel.providerId,
          header === undefined
            ? 'A Twilio webhook arrived without an X-Twilio-Signature header.'
            : `A Twilio webhook signature did not match this provider's auth_token for ${urls[0] ?? 'the request URL'}: check the auth_token, and that PUBLIC_URL is the address configured in the Twilio Console.`,
          request.ip,
        )
        request.log.warn({ providerId: channel.providerId, hasHeader: header !== undefined, source: request.ip }, 'webhook:signature:rejected')
        return reply
          .code(403)
          .send(
            errorBody(
              GW_ERR_WEBHOOK_SIGNATURE_FORBIDDEN(
                "The X-Twilio-Signature header is missing or does not match the provider's auth_token and the webhook URL.",
              ),
            ),
          )
      }

      deps.reportWebhookVerified(channel.providerId)

      const parsed = parseTwilioWebhook(form.fields, { receivedAtMs: deps.clock.now(), query: queryOf(request.url), route })
      if (!parsed.ok) {
        return refuse(parsed.problem === 'missing_field' ? GW_ERR_WEBHOOK_MISSING_FIELD : GW_ERR_WEBHOOK_INVALID_FIELD, parsed.message, parsed.field)
      }
      if (parsed.skipped > 0) request.log.info({ messageSid: form.fields.get('MessageSid'), status: form.fields.get('MessageStatus') }, 'webhook:twilio:status:untracked')
      const nowMs = deps.clock.now()
      const result = await deps.ingest([{ channel, events: parsed.events }], nowMs)
      if (result.jobs > 0) deps.onJobsEnqueued()
      deps.recordIngest(PROVIDER_TYPE, result)
      count(result.stored === 0 && result.duplicates > 0 && result.statuses.applied === 0 ? 'duplicate' : 'accepted')
      return reply.code(200).type('text/xml').send(EMPTY_TWIML)
    })
  }
}

/** The query string of a request URL, parsed. */
function queryOf(url: string): URLSearchParams {
  const mark = url.indexOf('?')
  return new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1))
}

/**
 * The URLs Twilio may have signed: `PUBLIC_URL` + path + query when set. Otherwise the address the
 * request names (its Host), and the one a proxy in front names (`X-Forwarded-Proto/Host`): trusting
 * those headers is safe here, because they only choose what the HMAC covers, and only the auth token
 * can make a signature match.
 */
function signedUrlsOf(request: FastifyRequest, publicUrl: string | undefined): string[] {
  if (publicUrl !== undefined && publicUrl !== '') return [`${publicUrl.replace(/\/+$/, '')}${request.url}`]
  const host = request.headers.host ?? ''
  const urls = [`${request.protocol}://${host}${request.url}`]
  const forwardedProto = firstValue(request.headers['x-forwarded-proto'])
  const forwardedHost = firstValue(request.headers['x-forwarded-host'])
  if (forwardedProto !== undefined || forwardedHost !== undefined) {
    urls.push(`${forwardedProto ?? request.protocol}://${forwardedHost ?? host}${request.url}`)
  }
  return urls
}

/** The first value of a header that may be a list (`a, b`) or repeated. */
function firstValue(header: string | string[] | undefined): string | undefined {
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim()
  return first === undefined || first === '' ? undefined : first
}
