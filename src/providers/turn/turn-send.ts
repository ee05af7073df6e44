/**
 * Sends one message through Turn.io: `POST /v1/messages` with the bearer token (protocols §6.3). Turn
 * forwards synchronously to WhatsApp, so a 2xx means WhatsApp accepted the message. The bodies are
 * WhatsApp's (`../whatsapp-message.ts`) without Meta's `messaging_product`; gateway media (`media_id`) is
 * uploaded to `/v1/media` once and sent by Turn's id.
 * @see https://whatsapp.turn.io/docs/api/messages
 */
import { ProviderError, type ProviderDeps, type SendReceipt, type SendRequest } from '../provider.js'
import { parseJsonObject } from '../provider-http.js'
import { whatsAppSendFields } from '../whatsapp-message.js'
import type { TurnConfig } from './turn-config.js'
import { turnPost } from './turn-http.js'
import { uploadTurnMedia } from './turn-media.js'
import type { TurnSendRequest, TurnSendResponse } from './turn-wire.js'

const PROVIDER = 'turnio'

/**
 * The template language when a message names none: Turn's config has no default of its own (Meta's
 * `template_language_code`), so WhatsApp's most common one.
 */
const DEFAULT_TEMPLATE_LANGUAGE = 'en'

/** Sends `request.message`; throws a classified `ProviderError` on any failure. */
export async function sendTurn(config: TurnConfig, sendRequest: SendRequest, deps: ProviderDeps): Promise<SendReceipt> {
  const phone = sendRequest.to.phone
  if (phone === null || phone === '') {
    throw new ProviderError('Turn.io can only send to a phone number, and this recipient has none (only a BSUID).', {
      provider: PROVIDER,
      providerCode: 'no_recipient',
      retry: 'never',
    })
  }
  const to = phone.replace(/^\+/, '')
  const message = sendRequest.message
  let body: TurnSendRequest
  let uploadedMediaId: string | undefined
  if (message.type === 'text') {
    // No link previews unless asked: a bot's URL would otherwise be fetched by WhatsApp and shown as a card.
    body = { preview_url: message.preview_url === true, recipient_type: 'individual', to, type: 'text', text: { body: message.text } }
  } else {
    // A `template` goes as the Cloud API's `type: "template"` body. Turn documents its legacy `hsm`
    // type; that it takes this body as well is unverified against a live Turn number.
    const sent = await whatsAppSendFields(sendRequest, message, {
      provider: PROVIDER,
      defaultLanguage: DEFAULT_TEMPLATE_LANGUAGE,
      upload: (media) => uploadTurnMedia(config, media, deps),
    })
    uploadedMediaId = sent.uploadedMediaId
    body = { recipient_type: 'individual', to, ...sent.fields }
  }

  const { statusCode, text } = await turnPost(config, deps, '/v1/messages', JSON.stringify(body), 'application/json')
  const id = (parseJsonObject(text) as TurnSendResponse | null)?.messages?.[0]?.id
  if (typeof id !== 'string' || id === '') {
    throw new ProviderError(`Turn.io accepted the message but its answer (HTTP ${statusCode}) named no message id.`, {
      provider: PROVIDER,
      providerCode: 'no_message_id',
      retry: 'later',
    })
  }
  return uploadedMediaId === undefined ? { providerMessageId: id } : { providerMessageId: id, uploadedMediaId }
}
