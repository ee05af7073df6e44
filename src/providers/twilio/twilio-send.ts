/**
 * Sends one WhatsApp text through Twilio: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded,
 * with `whatsapp:`-prefixed addresses (protocols §5.4).
 * @see https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
 */
import { request } from 'undici'
import { ProviderError, type ProviderDeps, type SendReceipt, type SendTextRequest } from '../provider.js'
import type { TwilioConfig } from './twilio-config.js'
import { classifyTwilioError, twilioNetworkError } from './twilio-errors.js'
import { basicAuth } from './twilio-numbers.js'
import { STATUS_CALLBACK_ID_PARAM, TWILIO_WEBHOOK_PATH, type TwilioMessageResource } from './twilio-wire.js'

/** Sends `request.text`; throws a classified `ProviderError` on any failure. */
export async function sendTwilioText(config: TwilioConfig, sendRequest: SendTextRequest, deps: ProviderDeps): Promise<SendReceipt> {
  const phone = sendRequest.to.phone
  if (phone === null || phone === '') {
    // Twilio addresses WhatsApp users by number only; a BSUID cannot be sent to.
    throw new ProviderError('Twilio can only send to a phone number, and this recipient has none (only a BSUID).', {
      provider: 'twilio',
      providerCode: 'no_recipient',
      retry: 'never',
    })
  }
  const base = deps.urls.twilioApiUrl.replace(/\/+$/, '')
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(config.account_sid)}/Messages.json`
  const form = new URLSearchParams({
    From: `whatsapp:${sendRequest.channel.fromIdentifier}`,
    To: `whatsapp:${phone}`,
    Body: sendRequest.text,
  })
  // Statuses come back only when Twilio is told where to post them. Without PUBLIC_URL the gateway cannot
  // know its public address, so it asks for none, and messages stay `sent` (README says so).
  if (deps.publicUrl !== undefined && deps.publicUrl !== '') {
    const query = new URLSearchParams({ [STATUS_CALLBACK_ID_PARAM]: sendRequest.gatewayMessageId })
    form.set('StatusCallback', `${deps.publicUrl.replace(/\/+$/, '')}${TWILIO_WEBHOOK_PATH}?${query}`)
  }

  let statusCode: number
  let retryAfter: string | string[] | undefined
  let text: string
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { authorization: basicAuth(config), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
    })
    statusCode = response.statusCode
    retryAfter = response.headers['retry-after']
    // Always read the body to its end: an unread body holds the keep-alive connection.
    text = await response.body.text()
  } catch (error) {
    throw twilioNetworkError(new URL(base).origin, error)
  }
  if (statusCode < 200 || statusCode >= 300) throw classifyTwilioError(statusCode, text, retryAfter)
  let sid: unknown
  try {
    sid = (JSON.parse(text) as TwilioMessageResource | null)?.sid
  } catch {
    sid = undefined
  }
  if (typeof sid !== 'string' || sid === '') {
    throw new ProviderError(`Twilio accepted the message but its answer (HTTP ${statusCode}) named no message sid.`, {
      provider: 'twilio',
      providerCode: 'no_message_id',
      retry: 'later',
    })
  }
  return { providerMessageId: sid }
}
