/**
 * Sends one text message: `POST /{phone_number_id}/messages` with the bearer token (protocols §2.2).
 * The gateway's message id rides along as `biz_opaque_callback_data`, which Meta echoes in the message's
 * status webhooks; that is how a send left in doubt by a crash is recognised (SPEC §6).
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages
 */
import { request } from 'undici'
import { ProviderError, type ProviderDeps, type SendReceipt, type SendTextRequest } from '../provider.js'
import type { MetaConfig } from './meta-config.js'
import { classifyGraphError, metaNetworkError, redactProviderError } from './meta-errors.js'
import type { GraphSendResponse, GraphSendTextRequest } from './meta-wire.js'

/** Sends `request.text` to one recipient; throws a classified `ProviderError` on any failure. */
export async function sendMetaText(config: MetaConfig, sendRequest: SendTextRequest, deps: ProviderDeps): Promise<SendReceipt> {
  const body: GraphSendTextRequest = {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    ...recipientFields(sendRequest),
    type: 'text',
    // No link previews: a bot's URL would otherwise be fetched by WhatsApp and shown as a card.
    text: { body: sendRequest.text, preview_url: false },
    biz_opaque_callback_data: sendRequest.gatewayMessageId,
  }
  const base = deps.urls.metaGraphUrl.replace(/\/+$/, '')
  const url = `${base}/${deps.urls.metaGraphVersion}/${encodeURIComponent(sendRequest.channel.fromIdentifier)}/messages`

  let statusCode: number
  let text: string
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      dispatcher: deps.dispatcher,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
    })
    statusCode = response.statusCode
    // Always read the body to its end: an unread body holds the keep-alive connection.
    text = await response.body.text()
  } catch (error) {
    throw metaNetworkError(new URL(base).origin, error)
  }

  if (statusCode < 200 || statusCode >= 300) throw redactProviderError(classifyGraphError(statusCode, text), [config.access_token])
  const id = firstMessageId(text)
  if (id === null) {
    // Meta said yes but named no message: the send may have happened. `later` lets the task's in-doubt
    // rule (wait for a status carrying our id) decide before sending again.
    throw new ProviderError(`Meta accepted the message but its answer (HTTP ${statusCode}) named no message id.`, {
      provider: 'meta_cloud_api',
      providerCode: 'no_message_id',
      retry: 'later',
    })
  }
  return { providerMessageId: id }
}

/** `to` (digits, no `+`) for a phone number; `recipient` for a user known only by BSUID (protocols §2.2). */
function recipientFields(sendRequest: SendTextRequest): Pick<GraphSendTextRequest, 'to'> | Pick<GraphSendTextRequest, 'recipient'> {
  const { phone, bsuid } = sendRequest.to
  if (phone !== null && phone !== '') return { to: phone.replace(/^\+/, '') }
  if (bsuid !== null && bsuid !== '') return { recipient: bsuid }
  throw new ProviderError('The message has no recipient: neither a phone number nor a BSUID.', {
    provider: 'meta_cloud_api',
    providerCode: 'no_recipient',
    retry: 'never',
  })
}

function firstMessageId(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as GraphSendResponse | null
    const id = Array.isArray(parsed?.messages) ? parsed.messages[0]?.id : undefined
    return typeof id === 'string' && id !== '' ? id : null
  } catch {
    return null
  }
}
