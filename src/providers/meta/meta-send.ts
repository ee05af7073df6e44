/**
 * Sends one message of any outbound type: `POST /{phone_number_id}/messages` with the bearer token, in
 * the Cloud API's wire shape (protocols §2.2). The gateway's message id rides along as
 * `biz_opaque_callback_data`, which Meta echoes in the message's status webhooks; that is how a send
 * left in doubt by a crash is recognised (SPEC §6). Gateway media (`media_id`) is uploaded once and sent
 * by Meta's id; the receipt names a fresh upload so the caller can keep it.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages
 */
import { ProviderError, type MarkReadRequest, type ProviderDeps, type SendReceipt, type SendRequest } from '../provider.js'
import { parseJsonObject } from '../provider-http.js'
import { whatsAppSendFields } from '../whatsapp-message.js'
import type { MetaConfig } from './meta-config.js'
import { graphCall } from './meta-http.js'
import { uploadMetaMedia } from './meta-media.js'
import type { GraphMarkReadRequest, GraphSendEnvelope, GraphSendRequest, GraphSendResponse } from './meta-wire.js'

const PROVIDER = 'meta_cloud_api'

/** Sends `request.message` to one recipient; throws a classified `ProviderError` on any failure. */
export async function sendMeta(config: MetaConfig, sendRequest: SendRequest, deps: ProviderDeps): Promise<SendReceipt> {
  const message = sendRequest.message
  const envelope = { messaging_product: 'whatsapp', recipient_type: 'individual', ...recipientFields(sendRequest) } as const
  const callbackData = { biz_opaque_callback_data: sendRequest.gatewayMessageId }
  let body: GraphSendRequest
  let uploadedMediaId: string | undefined
  if (message.type === 'text') {
    // No link previews unless asked: a bot's URL would otherwise be fetched by WhatsApp and shown as a card.
    body = { ...envelope, type: 'text', text: { body: message.text, preview_url: message.preview_url === true }, ...callbackData }
  } else {
    const sent = await whatsAppSendFields(sendRequest, message, {
      provider: PROVIDER,
      defaultLanguage: config.template_language_code,
      upload: (media) => uploadMetaMedia(config, sendRequest.channel.fromIdentifier, media, deps),
    })
    uploadedMediaId = sent.uploadedMediaId
    body = { ...envelope, ...sent.fields, ...callbackData }
  }

  const { statusCode, text } = await graphCall(config, deps, {
    method: 'POST',
    path: `${encodeURIComponent(sendRequest.channel.fromIdentifier)}/messages`,
    json: body,
  })
  const id = firstMessageId(text)
  if (id === null) {
    // Meta said yes but named no message: the send may have happened. `later` lets the task's in-doubt
    // rule (wait for a status carrying our id) decide before sending again.
    throw new ProviderError(`Meta accepted the message but its answer (HTTP ${statusCode}) named no message id.`, {
      provider: PROVIDER,
      providerCode: 'no_message_id',
      retry: 'later',
    })
  }
  return uploadedMediaId === undefined ? { providerMessageId: id } : { providerMessageId: id, uploadedMediaId }
}

/**
 * Marks an inbound message read, with the typing indicator when asked (shown until the reply, or 25 s).
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/typing-indicators
 */
export async function markMetaRead(config: MetaConfig, markRequest: MarkReadRequest, deps: ProviderDeps): Promise<void> {
  const body: GraphMarkReadRequest = {
    messaging_product: 'whatsapp',
    status: 'read',
    message_id: markRequest.providerMessageId,
    ...(markRequest.typing ? { typing_indicator: { type: 'text' as const } } : {}),
  }
  await graphCall(config, deps, { method: 'POST', path: `${encodeURIComponent(markRequest.channel.fromIdentifier)}/messages`, json: body })
}

/** `to` (digits, no `+`) for a phone number; `recipient` for a user known only by BSUID (protocols §2.2). */
function recipientFields(sendRequest: SendRequest): Pick<GraphSendEnvelope, 'to'> | Pick<GraphSendEnvelope, 'recipient'> {
  const { phone, bsuid } = sendRequest.to
  if (phone !== null && phone !== '') return { to: phone.replace(/^\+/, '') }
  if (bsuid !== null && bsuid !== '') return { recipient: bsuid }
  throw new ProviderError('The message has no recipient: neither a phone number nor a BSUID.', {
    provider: PROVIDER,
    providerCode: 'no_recipient',
    retry: 'never',
  })
}

function firstMessageId(text: string): string | null {
  const parsed = parseJsonObject(text) as GraphSendResponse | null
  const id = Array.isArray(parsed?.messages) ? parsed.messages[0]?.id : undefined
  return typeof id === 'string' && id !== '' ? id : null
}
