/**
 * The outbound message body of WhatsApp's messages API, shared by Meta's Cloud API and Turn.io (Turn
 * speaks the same JSON, without `messaging_product`): every message type of `core/outbound.ts` except
 * `text`, whose spelling differs between the two (Meta `text.preview_url`, Turn a top-level `preview_url`).
 * Each provider wraps these fields with its own envelope (recipient, callback data) and uploads gateway
 * media its own way.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages
 */
import type { OutboundMessage, TemplateOutbound } from '../core/outbound.js'
import { ProviderError, type OutboundMedia, type SendRequest } from './provider.js'

/** Where media comes from on the wire: a public URL WhatsApp fetches, or an uploaded media id. */
export type WhatsAppMediaSource = { link: string } | { id: string }

/** The media object of an image, video, audio, document or sticker message. */
export type WhatsAppMediaObject = WhatsAppMediaSource & { caption?: string; filename?: string; voice?: boolean }

/** Header, body and footer of an interactive message. */
interface InteractiveFrame {
  header?: { type: 'text'; text: string }
  body: { text: string }
  footer?: { text: string }
}

/** `interactive` of a reply-buttons, list or CTA-URL message. */
export type WhatsAppInteractive =
  | (InteractiveFrame & { type: 'button'; action: { buttons: { type: 'reply'; reply: { id: string; title: string } }[] } })
  | (InteractiveFrame & {
      type: 'list'
      action: { button: string; sections: { title?: string; rows: { id: string; title: string; description?: string }[] }[] }
    })
  | (InteractiveFrame & { type: 'cta_url'; action: { name: 'cta_url'; parameters: { display_text: string; url: string } } })

/** One parameter of a template component. */
export type WhatsAppTemplateParameter =
  | { type: 'text'; text: string; parameter_name?: string }
  | { type: 'payload'; payload: string }
  | { type: 'image'; image: WhatsAppMediaSource }
  | { type: 'video'; video: WhatsAppMediaSource }
  | { type: 'document'; document: WhatsAppMediaSource }

/** One component of a template send (header, body, or one dynamic button). */
export type WhatsAppTemplateComponent =
  | { type: 'header' | 'body'; parameters: WhatsAppTemplateParameter[] }
  | { type: 'button'; sub_type: 'quick_reply' | 'url'; index: string; parameters: WhatsAppTemplateParameter[] }

/** The type-specific fields of a send body (everything but the recipient envelope). */
export type WhatsAppMessageFields =
  | { type: 'image' | 'video' | 'audio' | 'document' | 'sticker'; [kind: string]: unknown }
  | { type: 'interactive'; interactive: WhatsAppInteractive }
  | { type: 'location'; location: { latitude: number; longitude: number; name?: string; address?: string } }
  | { type: 'reaction'; reaction: { message_id: string; emoji: string } }
  | { type: 'template'; template: { name: string; language: { code: string }; components?: WhatsAppTemplateComponent[] } }

/** What the fields need beyond the message itself. */
export interface WhatsAppFieldsContext {
  provider: string
  /** The provider's id of the uploaded media a `media_id` names (the message's or the template header's). */
  uploadedMediaId: string | null
  /** The stored file name of that media, used for a document sent without `filename`. */
  storedFilename: string | null
  /** For a reaction: the provider's id of the message reacted to. */
  reactionTo: string | undefined
  /** The template language when the message names none (the provider's `template_language_code`). */
  defaultLanguage: string
}

/**
 * The type-specific fields of `message` (any type but `text`). Throws a `never` `ProviderError` when a
 * reaction has no target or a `media_id` was not uploaded first: both are the caller's mistakes.
 */
export function whatsAppMessageFields(message: Exclude<OutboundMessage, { type: 'text' }>, context: WhatsAppFieldsContext): WhatsAppMessageFields {
  switch (message.type) {
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const media: WhatsAppMediaObject = { ...sourceOf(message, context) }
      if ((message.type === 'image' || message.type === 'video' || message.type === 'document') && message.caption !== undefined) media.caption = message.caption
      if (message.type === 'document') {
        const filename = message.filename ?? (message.media_id === undefined ? null : context.storedFilename)
        if (filename !== null) media.filename = filename
      }
      // A voice note (waveform, played inline) needs Ogg/Opus; other audio shows as a file.
      if (message.type === 'audio' && message.voice === true) media.voice = true
      return { type: message.type, [message.type]: media }
    }
    case 'buttons':
      return {
        type: 'interactive',
        interactive: {
          type: 'button',
          ...frame(message),
          action: { buttons: message.buttons.map(({ id, title }) => ({ type: 'reply' as const, reply: { id, title } })) },
        },
      }
    case 'list':
      return {
        type: 'interactive',
        interactive: {
          type: 'list',
          ...frame(message),
          action: {
            button: message.button,
            sections: message.sections.map((section) => ({
              ...(section.title === undefined ? {} : { title: section.title }),
              rows: section.rows.map(({ id, title, description }) => ({ id, title, ...(description === undefined ? {} : { description }) })),
            })),
          },
        },
      }
    case 'cta_url':
      return {
        type: 'interactive',
        interactive: { type: 'cta_url', ...frame(message), action: { name: 'cta_url', parameters: { display_text: message.button, url: message.url } } },
      }
    case 'location':
      return {
        type: 'location',
        location: {
          latitude: message.latitude,
          longitude: message.longitude,
          ...(message.name === undefined ? {} : { name: message.name }),
          ...(message.address === undefined ? {} : { address: message.address }),
        },
      }
    case 'reaction': {
      if (context.reactionTo === undefined || context.reactionTo === '') {
        throw new ProviderError(`The reaction names ${message.message_id}, which has no id at the provider, so it cannot be reacted to.`, {
          provider: context.provider,
          providerCode: 'reaction_target_unknown',
          retry: 'never',
        })
      }
      return { type: 'reaction', reaction: { message_id: context.reactionTo, emoji: message.emoji } }
    }
    case 'template':
      return { type: 'template', template: templateOf(message, context) }
  }
}

/** How a provider builds a send's fields: its name in errors, its default template language, its upload. */
export interface WhatsAppSendOptions {
  provider: string
  /** The template language when the message names none (the provider's `template_language_code`). */
  defaultLanguage: string
  /** Uploads stored media to the provider; resolves with the provider's media id. */
  upload: (media: OutboundMedia) => Promise<string>
}

/**
 * The type-specific fields of `message` (`sendRequest.message`, any type but `text`), after uploading the
 * gateway media it names unless the provider has it already; `uploadedMediaId` names a fresh upload, so
 * the caller's receipt can keep it and the media is uploaded once.
 */
export async function whatsAppSendFields(
  sendRequest: SendRequest,
  message: Exclude<OutboundMessage, { type: 'text' }>,
  options: WhatsAppSendOptions,
): Promise<{ fields: WhatsAppMessageFields; uploadedMediaId: string | undefined }> {
  let uploadedMediaId: string | undefined
  let mediaId: string | null = null
  const media = namesStoredMedia(message) ? storedMedia(sendRequest, options.provider) : undefined
  if (media !== undefined) mediaId = media.uploadedId ?? (uploadedMediaId = await options.upload(media))
  const fields = whatsAppMessageFields(message, {
    provider: options.provider,
    uploadedMediaId: mediaId,
    storedFilename: media?.filename ?? null,
    reactionTo: sendRequest.reactionTo,
    defaultLanguage: options.defaultLanguage,
  })
  return { fields, uploadedMediaId }
}

/** Whether `message` names gateway media (`media_id`) that must be uploaded before it is sent. */
export function namesStoredMedia(message: OutboundMessage): boolean {
  if (message.type === 'template') return message.header !== undefined && 'media_id' in message.header && message.header.media_id !== undefined
  return 'media_id' in message && message.media_id !== undefined
}

/** The stored media a `media_id` names; its absence is the caller's mistake, never worth a retry. */
function storedMedia(sendRequest: SendRequest, provider: string): OutboundMedia {
  if (sendRequest.media !== undefined) return sendRequest.media
  throw new ProviderError('The message names gateway media (media_id), but the media was not handed to the provider.', {
    provider,
    providerCode: 'media_missing',
    retry: 'never',
  })
}

function frame(message: { text: string; header?: string | undefined; footer?: string | undefined }): InteractiveFrame {
  return {
    ...(message.header === undefined ? {} : { header: { type: 'text', text: message.header } }),
    body: { text: message.text },
    ...(message.footer === undefined ? {} : { footer: { text: message.footer } }),
  }
}

function sourceOf(media: { url?: string | undefined; media_id?: string | undefined }, context: WhatsAppFieldsContext): WhatsAppMediaSource {
  if (media.url !== undefined) return { link: media.url }
  if (context.uploadedMediaId === null) {
    throw new ProviderError(`The media ${media.media_id ?? ''} was not uploaded to the provider before the send.`, {
      provider: context.provider,
      providerCode: 'media_not_uploaded',
      retry: 'never',
    })
  }
  return { id: context.uploadedMediaId }
}

/**
 * A template send: header, body parameters (an array is positional `{{1}}`…, an object named, each with
 * its `parameter_name`), and one component per dynamic button, `index` as a string as Meta's examples give it.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/templates/overview
 */
function templateOf(message: TemplateOutbound, context: WhatsAppFieldsContext): Extract<WhatsAppMessageFields, { type: 'template' }>['template'] {
  const components: WhatsAppTemplateComponent[] = []
  const header = message.header
  if (header !== undefined) {
    const parameter: WhatsAppTemplateParameter =
      header.type === 'text'
        ? { type: 'text', text: header.text }
        : header.type === 'image'
          ? { type: 'image', image: sourceOf(header, context) }
          : header.type === 'video'
            ? { type: 'video', video: sourceOf(header, context) }
            : { type: 'document', document: sourceOf(header, context) }
    components.push({ type: 'header', parameters: [parameter] })
  }
  const params = message.params
  if (params !== undefined) {
    const parameters: WhatsAppTemplateParameter[] = Array.isArray(params)
      ? params.map((text) => ({ type: 'text', text }))
      : Object.entries(params).map(([name, text]) => ({ type: 'text', parameter_name: name, text }))
    if (parameters.length > 0) components.push({ type: 'body', parameters })
  }
  for (const button of message.buttons ?? []) {
    components.push(
      'payload' in button
        ? { type: 'button', sub_type: 'quick_reply', index: String(button.index), parameters: [{ type: 'payload', payload: button.payload }] }
        : { type: 'button', sub_type: 'url', index: String(button.index), parameters: [{ type: 'text', text: button.url_suffix }] },
    )
  }
  return {
    name: message.name,
    language: { code: message.language ?? context.defaultLanguage },
    ...(components.length === 0 ? {} : { components }),
  }
}
