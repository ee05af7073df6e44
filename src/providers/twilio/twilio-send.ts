/**
 * Sends one WhatsApp message through Twilio: `POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded, with `whatsapp:`-prefixed addresses (protocols §5.4). Twilio's WhatsApp channel carries
 * text, one media by URL, and Content API templates; the other types are rendered as text (the
 * degradations `twilioCapabilities` declares), and a reaction cannot be sent at all.
 * @see https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
 */
import { numberedText } from '../../core/choices.js'
import type { OutboundMessage } from '../../core/outbound.js'
import { ProviderError, type ProviderDeps, type SendReceipt, type SendRequest } from '../provider.js'
import { callApi, parseJsonObject } from '../provider-http.js'
import type { TwilioConfig } from './twilio-config.js'
import { classifyTwilioError, twilioNetworkError } from './twilio-errors.js'
import { basicAuth } from './twilio-numbers.js'
import { STATUS_CALLBACK_ID_PARAM, TWILIO_WEBHOOK_PATH, type TwilioMessageResource, type TwilioSendFields } from './twilio-wire.js'

const PROVIDER = 'twilio'

/** Sends `request.message`; throws a classified `ProviderError` on any failure. */
export async function sendTwilio(config: TwilioConfig, sendRequest: SendRequest, deps: ProviderDeps): Promise<SendReceipt> {
  const phone = sendRequest.to.phone
  if (phone === null || phone === '') {
    // Twilio addresses WhatsApp users by number only; a BSUID cannot be sent to.
    throw new ProviderError('Twilio can only send to a phone number, and this recipient has none (only a BSUID).', {
      provider: PROVIDER,
      providerCode: 'no_recipient',
      retry: 'never',
    })
  }
  const base = deps.urls.twilioApiUrl.replace(/\/+$/, '')
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(config.account_sid)}/Messages.json`
  const form = new URLSearchParams({
    From: `whatsapp:${sendRequest.channel.fromIdentifier}`,
    To: `whatsapp:${phone}`,
  })
  for (const [name, value] of Object.entries(twilioFields(sendRequest))) if (value !== undefined) form.set(name, value)
  // Statuses come back only when Twilio is told where to post them. Without PUBLIC_URL the gateway cannot
  // know its public address, so it asks for none, and messages stay `sent` (README says so).
  if (deps.publicUrl !== undefined && deps.publicUrl !== '') {
    const query = new URLSearchParams({ [STATUS_CALLBACK_ID_PARAM]: sendRequest.gatewayMessageId })
    form.set('StatusCallback', `${deps.publicUrl.replace(/\/+$/, '')}${TWILIO_WEBHOOK_PATH}?${query}`)
  }

  const headers = { authorization: basicAuth(config), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
  const { statusCode, retryAfter, text } = await callApi(url, { method: 'POST', headers, body: form.toString() }, deps, (error) =>
    twilioNetworkError(new URL(base).origin, error),
  )
  if (statusCode < 200 || statusCode >= 300) throw classifyTwilioError(statusCode, text, retryAfter)
  const sid = (parseJsonObject(text) as TwilioMessageResource | null)?.sid
  if (typeof sid !== 'string' || sid === '') {
    throw new ProviderError(`Twilio accepted the message but its answer (HTTP ${statusCode}) named no message sid.`, {
      provider: PROVIDER,
      providerCode: 'no_message_id',
      retry: 'later',
    })
  }
  return { providerMessageId: sid }
}

/** The form fields that carry the message itself (besides From, To and StatusCallback). */
export function twilioFields(sendRequest: SendRequest): TwilioSendFields {
  const message = sendRequest.message
  switch (message.type) {
    case 'text':
      return { Body: message.text }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      // One media per message; `Body` is its caption.
      const caption = message.type === 'image' || message.type === 'video' || message.type === 'document' ? message.caption : undefined
      return { MediaUrl: message.url ?? signedMediaUrl(sendRequest), Body: caption }
    }
    case 'buttons':
    case 'list':
      // Typed answers ("2", or the title) come back as a `reply` (core/choices.ts matches them).
      return { Body: numberedText(message) }
    case 'cta_url':
      return { Body: blocks([message.header, message.text, `${message.button}: ${message.url}`, message.footer]) }
    case 'location':
      return { Body: locationText(message) }
    case 'reaction':
      throw new ProviderError("Twilio's WhatsApp channel cannot send reactions; this message was not sent.", {
        provider: PROVIDER,
        providerCode: 'unsupported_by_provider',
        retry: 'never',
      })
    case 'template':
      // A template is a Content API template: `name` is its `HX…` sid, `params` its variables ("1", "2",
      // … for an array). Its header and buttons are part of the approved content, so only `params` vary.
      return {
        ContentSid: message.name,
        ContentVariables: message.params === undefined ? undefined : JSON.stringify(Array.isArray(message.params) ? positional(message.params) : message.params),
      }
  }
}

/** The gateway's signed URL of the stored media, which Twilio fetches itself. */
function signedMediaUrl(sendRequest: SendRequest): string {
  const signed = sendRequest.media?.signedUrl
  if (signed !== undefined && signed !== null && signed !== '') return signed
  throw new ProviderError(
    'Twilio fetches media from a public URL, and the gateway has none for its stored media: set PUBLIC_URL to the address Twilio reaches the gateway at, or send the media by "url".',
    { provider: PROVIDER, providerCode: 'public_url_required', retry: 'never' },
  )
}

/** Name, address and a maps link, one a line. */
function locationText(message: Extract<OutboundMessage, { type: 'location' }>): string {
  const link = `https://maps.google.com/?q=${message.latitude},${message.longitude}`
  return [message.name, message.address, link].filter((line) => line !== undefined).join('\n')
}

function blocks(parts: ReadonlyArray<string | undefined>): string {
  return parts.filter((part) => part !== undefined).join('\n\n')
}

function positional(params: readonly string[]): Record<string, string> {
  return Object.fromEntries(params.map((value, index) => [String(index + 1), value]))
}
