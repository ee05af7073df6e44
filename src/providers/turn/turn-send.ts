/**
 * Sends one text through Turn.io: `POST /v1/messages` with the bearer token (protocols §6.3). Turn
 * forwards synchronously to WhatsApp, so a 2xx means WhatsApp accepted the message.
 * @see https://whatsapp.turn.io/docs/api/messages
 */
import { request } from 'undici'
import { ProviderError, type ProviderDeps, type SendReceipt, type SendTextRequest } from '../provider.js'
import type { TurnConfig } from './turn-config.js'
import { classifyTurnError, turnNetworkError } from './turn-errors.js'
import type { TurnSendResponse, TurnSendTextRequest } from './turn-wire.js'

/** Sends `request.text`; throws a classified `ProviderError` on any failure. */
export async function sendTurnText(config: TurnConfig, sendRequest: SendTextRequest, deps: ProviderDeps): Promise<SendReceipt> {
  const phone = sendRequest.to.phone
  if (phone === null || phone === '') {
    throw new ProviderError('Turn.io can only send to a phone number, and this recipient has none (only a BSUID).', {
      provider: 'turnio',
      providerCode: 'no_recipient',
      retry: 'never',
    })
  }
  const body: TurnSendTextRequest = {
    // No link previews: a bot's URL would otherwise be fetched by WhatsApp and shown as a card.
    preview_url: false,
    recipient_type: 'individual',
    to: phone.replace(/^\+/, ''),
    type: 'text',
    text: { body: sendRequest.text },
  }
  const base = deps.urls.turnApiUrl.replace(/\/+$/, '')

  let statusCode: number
  let retryAfter: string | string[] | undefined
  let text: string
  try {
    const response = await request(`${base}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.auth_token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
    })
    statusCode = response.statusCode
    retryAfter = response.headers['retry-after']
    // Always read the body to its end: an unread body holds the keep-alive connection.
    text = await response.body.text()
  } catch (error) {
    throw turnNetworkError(new URL(base).origin, error)
  }
  if (statusCode < 200 || statusCode >= 300) throw classifyTurnError(statusCode, text, retryAfter)
  let id: unknown
  try {
    const parsed = JSON.parse(text) as TurnSendResponse | null
    id = Array.isArray(parsed?.messages) ? parsed.messages[0]?.id : undefined
  } catch {
    id = undefined
  }
  if (typeof id !== 'string' || id === '') {
    throw new ProviderError(`Turn.io accepted the message but its answer (HTTP ${statusCode}) named no message id.`, {
      provider: 'turnio',
      providerCode: 'no_message_id',
      retry: 'later',
    })
  }
  return { providerMessageId: id }
}
