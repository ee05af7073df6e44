// @ts-check
/**
 * What a message bubble holds, drawn the way WhatsApp shows it: pictures, players, documents, pins,
 * contact cards, the option a person chose, and the bot's buttons, lists and link buttons. Text goes in
 * through `textContent` only (dom.js); media come from the gateway's signed `/media/…` URLs (same
 * origin, no token), or, for what the bot sent by media id, from a source the thread hands in.
 */
import { h } from './dom.js'

/**
 * @typedef {import('./api.js').MessageDto} MessageDto
 * @typedef {NonNullable<MessageDto['message']>} OutboundDto
 * @typedef {NonNullable<MessageDto['location']>} LocationDto
 * @typedef {{ id: string, title: string }} Choice
 * @typedef {{
 *   byId: Map<string, MessageDto>,
 *   who: (message: MessageDto) => string,
 *   outboundMedia: (message: MessageDto) => Promise<string | null>,
 *   cache: Map<string, HTMLElement>,
 *   tappable: boolean,
 *   onChoose?: (message: MessageDto, choice: Choice) => void,
 * }} BodyContext
 */

const MEDIA_WORDS = /** @type {Record<string, string>} */ ({ image: 'image', video: 'video', audio: 'audio', document: 'document', sticker: 'sticker' })

/** "1.2 kB": a size for people. */
export function formatBytes(/** @type {number | null | undefined} */ size) {
  if (size === null || size === undefined) return ''
  if (size < 1000) return `${size} B`
  if (size < 1_000_000) return `${(size / 1000).toFixed(1)} kB`
  return `${(size / 1_000_000).toFixed(1)} MB`
}

/** A short line naming what a message is, for quotes ("Replying to …") and fallbacks. */
export function summaryOf(/** @type {MessageDto} */ message) {
  if (message.text) return message.text
  if (message.media?.filename) return message.media.filename
  const sent = message.message
  if (sent?.type === 'template') return `Template ${sent.name}`
  return `(${message.type} message)`
}

/**
 * The message another one reacts to, and with what: an inbound `reaction`, or an outbound reaction the
 * bot sent. `emoji` "" takes a reaction away. Null for every other message.
 * @param {MessageDto} message
 * @returns {{ target: string | null, emoji: string } | null}
 */
export function reactionOf(message) {
  if (message.reaction) return { target: message.reaction.message_id ?? message.context?.message_id ?? null, emoji: message.reaction.emoji }
  if (message.message?.type === 'reaction') return { target: message.message.message_id, emoji: message.message.emoji }
  return null
}

/** An OpenStreetMap link centred on a pin. */
export function mapUrl(/** @type {number} */ latitude, /** @type {number} */ longitude) {
  return `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=16/${latitude}/${longitude}`
}

/** @param {LocationDto | { latitude: number, longitude: number, name?: string | null, address?: string | null }} location */
function locationCard(location) {
  const latitude = Number(location.latitude)
  const longitude = Number(location.longitude)
  return h(
    'div',
    { class: 'location' },
    h('span', { class: 'location-pin', 'aria-hidden': 'true' }, '📍'),
    h(
      'div',
      {},
      location.name ? h('strong', {}, location.name) : null,
      location.address ? h('div', {}, location.address) : null,
      h('div', { class: 'meta' }, `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`),
      h('a', { href: mapUrl(latitude, longitude), target: '_blank', rel: 'noopener noreferrer' }, 'Open in OpenStreetMap'),
    ),
  )
}

/** A contact card from whatever shape the provider gave (Meta: `name.formatted_name`, `phones[].phone`). */
function contactCard(/** @type {unknown} */ contact) {
  const c = /** @type {{ name?: { formatted_name?: string, first_name?: string, last_name?: string } | string, phones?: Array<{ phone?: string, wa_id?: string, type?: string }> }} */ (
    contact ?? {}
  )
  const name =
    typeof c.name === 'string'
      ? c.name
      : (c.name?.formatted_name ?? ([c.name?.first_name, c.name?.last_name].filter(Boolean).join(' ') || 'Contact'))
  const phones = (Array.isArray(c.phones) ? c.phones : []).map((p) => [p.phone ?? (p.wa_id ? `+${p.wa_id}` : ''), p.type ? ` (${p.type.toLowerCase()})` : ''].join(''))
  return h('div', { class: 'contact' }, h('span', { 'aria-hidden': 'true' }, '👤 '), h('strong', {}, name), phones.map((phone) => h('div', { class: 'meta' }, phone)))
}

/**
 * The element of one piece of media. `src` may come later (a blob fetched with the token); null then
 * means it could not be had, and `fallback` (a link the page cannot load inline) or a note shows.
 * @param {{ kind: string, src: string | null | Promise<string | null>, filename: string | null, size: number | null,
 *   voice: boolean, caption: string | null, fallback?: string }} media
 */
function mediaElement(media) {
  /** @type {HTMLElement} */
  let element
  /** @type {(url: string) => void} */
  let setSource
  if (media.kind === 'image' || media.kind === 'sticker') {
    const img = /** @type {HTMLImageElement} */ (h('img', { class: media.kind === 'sticker' ? 'media sticker' : 'media image', alt: media.caption ?? (media.kind === 'sticker' ? 'Sticker' : 'Image') }))
    element = img
    setSource = (url) => (img.src = url)
  } else if (media.kind === 'video') {
    const video = /** @type {HTMLVideoElement} */ (h('video', { class: 'media video', controls: true, preload: 'metadata' }))
    element = video
    setSource = (url) => (video.src = url)
  } else if (media.kind === 'audio') {
    const audio = /** @type {HTMLAudioElement} */ (h('audio', { controls: true, preload: 'metadata' }))
    element = h('div', { class: 'media audio' }, h('span', { class: 'media-label' }, media.voice ? '🎤 Voice note' : '🎵 Audio'), audio)
    setSource = (url) => (audio.src = url)
  } else {
    const name = media.filename ?? 'Document'
    const link = /** @type {HTMLAnchorElement} */ (h('a', { class: 'media document', download: name }, h('span', { 'aria-hidden': 'true' }, '📄 '), name))
    element = h('div', {}, link, media.size ? h('span', { class: 'meta' }, ` ${formatBytes(media.size)}`) : null)
    setSource = (url) => (link.href = url)
  }
  void Promise.resolve(media.src).then(
    (url) => {
      if (url) return setSource(url)
      const note = media.fallback
        ? h('a', { href: media.fallback, target: '_blank', rel: 'noopener noreferrer' }, `Open the ${MEDIA_WORDS[media.kind] ?? 'file'} (sent by URL)`)
        : h('span', { class: 'meta' }, `The ${MEDIA_WORDS[media.kind] ?? 'file'} cannot be shown here.`)
      element.replaceWith(note)
    },
    () => element.replaceWith(h('span', { class: 'meta' }, `The ${MEDIA_WORDS[media.kind] ?? 'file'} could not be loaded.`)),
  )
  return element
}

/**
 * An inbound message's media: pending, failed with its reason, or shown. Elements are kept per message
 * and state, so a redraw neither reloads a picture nor stops a playing voice note.
 * @param {MessageDto} message
 * @param {BodyContext} context
 */
function inboundMedia(message, context) {
  const media = message.media
  if (!media) return null
  const word = MEDIA_WORDS[message.type] ?? 'file'
  if (media.status === 'pending') return h('p', { class: 'meta' }, `Fetching the ${word} from WhatsApp…`)
  if (media.status === 'failed' || !media.url) {
    return h('p', { class: 'error' }, `The ${word} could not be fetched: `, media.error ?? 'no reason was given.')
  }
  const key = `${message.id}|stored`
  let element = context.cache.get(key)
  if (!element) {
    const kind = message.type in MEDIA_WORDS ? message.type : media.mime_type?.startsWith('image/') ? 'image' : 'document'
    element = mediaElement({ kind, src: media.url, filename: media.filename, size: media.size, voice: media.voice, caption: message.text })
    context.cache.set(key, element)
  }
  return element
}

/**
 * Media the bot sent: the gateway's copy when the API gives its URL, else the thread's source (the
 * stored bytes by media id, or what the sandbox's Meta received).
 * @param {MessageDto} message
 * @param {Extract<OutboundDto, { type: 'image' | 'video' | 'audio' | 'document' | 'sticker' }>} sent
 * @param {BodyContext} context
 */
function outboundMedia(message, sent, context) {
  const key = `${message.id}|${message.provider_message_id ? 'sent' : 'queued'}`
  let element = context.cache.get(key)
  if (!element) {
    element = mediaElement({
      kind: sent.type,
      src: message.media?.url ?? context.outboundMedia(message),
      filename: ('filename' in sent ? sent.filename : undefined) ?? message.media?.filename ?? null,
      size: message.media?.size ?? null,
      voice: 'voice' in sent ? sent.voice === true : false,
      caption: 'caption' in sent ? (sent.caption ?? null) : null,
      ...(sent.url ? { fallback: sent.url } : {}),
    })
    context.cache.set(key, element)
  }
  return element
}

/**
 * Choices the participant can tap: real buttons, enabled only where the page can tap for them (the
 * sandbox phone, on the bot's latest message).
 * @param {MessageDto} message
 * @param {Choice} choice
 * @param {BodyContext} context
 * @param {string} className
 * @param {unknown[]} content
 */
function choiceButton(message, choice, context, className, content) {
  const enabled = context.tappable && context.onChoose !== undefined
  return h(
    'button',
    {
      type: 'button',
      class: className,
      disabled: !enabled,
      'data-choice-id': choice.id,
      onclick: enabled ? () => context.onChoose?.(message, choice) : undefined,
    },
    content,
  )
}

/**
 * An outbound message drawn from the message as sent.
 * @param {MessageDto} message
 * @param {OutboundDto} sent
 * @param {BodyContext} context
 * @returns {unknown[]}
 */
function outboundBody(message, sent, context) {
  const header = 'header' in sent && typeof sent.header === 'string' ? h('div', { class: 'msg-header' }, sent.header) : null
  const footer = 'footer' in sent && typeof sent.footer === 'string' ? h('div', { class: 'msg-footer meta' }, sent.footer) : null
  switch (sent.type) {
    case 'text':
      return [h('div', { class: 'text' }, sent.text)]
    case 'buttons':
      return [
        header,
        h('div', { class: 'text' }, sent.text),
        footer,
        h(
          'div',
          { class: 'choices', role: 'group', 'aria-label': 'Reply buttons' },
          sent.buttons.map((button) => choiceButton(message, button, context, 'choice-button', [button.title])),
        ),
      ]
    case 'list':
      return [
        header,
        h('div', { class: 'text' }, sent.text),
        footer,
        h('div', { class: 'list-open' }, h('span', { 'aria-hidden': 'true' }, '☰ '), sent.button),
        h(
          'div',
          { class: 'list-rows', role: 'group', 'aria-label': sent.button },
          sent.sections.map((section) => [
            section.title ? h('div', { class: 'list-section' }, section.title) : null,
            section.rows.map((row) =>
              choiceButton(message, row, context, 'list-row', [
                h('span', { class: 'row-title' }, row.title),
                row.description ? h('span', { class: 'row-description' }, row.description) : null,
              ]),
            ),
          ]),
        ),
      ]
    case 'cta_url':
      return [
        header,
        h('div', { class: 'text' }, sent.text),
        footer,
        h('a', { class: 'cta-button', href: sent.url, target: '_blank', rel: 'noopener noreferrer' }, h('span', { 'aria-hidden': 'true' }, '↗ '), sent.button),
      ]
    case 'location':
      return [locationCard(sent)]
    case 'reaction':
      return [h('div', { class: 'text' }, sent.emoji === '' ? 'Took a reaction back' : `Reacted ${sent.emoji}`, context.byId.has(sent.message_id) ? '' : ' to a message not in this thread')]
    case 'template': {
      /** @type {string[]} */
      const params = Array.isArray(sent.params) ? sent.params : Object.entries(sent.params ?? {}).map(([name, value]) => `${name}: ${value}`)
      return [
        h('div', { class: 'template' }, 'Template ', h('strong', {}, sent.name), ` (${sent.language ?? 'default language'})`),
        params.length > 0 ? h('div', { class: 'meta' }, 'Parameters: ', params.join(' · ')) : null,
      ]
    }
    default:
      return [outboundMedia(message, sent, context), 'caption' in sent && sent.caption ? h('div', { class: 'text' }, sent.caption) : null]
  }
}

/**
 * The inside of a bubble: a quote of the message it answers, then what it carries.
 * @param {MessageDto} message
 * @param {BodyContext} context
 * @returns {unknown[]}
 */
export function messageBody(message, context) {
  const quoted = message.context?.message_id ? context.byId.get(message.context.message_id) : undefined
  const quote = quoted && !message.reaction ? h('blockquote', { class: 'quote' }, h('span', { class: 'who' }, context.who(quoted)), h('span', {}, summaryOf(quoted))) : null
  const forwarded = message.context?.forwarded ? h('div', { class: 'meta' }, '↪ Forwarded') : null
  if (message.direction === 'out' && message.message) return [quote, ...outboundBody(message, message.message, context)]

  /** @type {unknown[]} */
  const body = [quote, forwarded]
  if (message.media) {
    body.push(inboundMedia(message, context))
    if (message.text && message.type !== 'audio' && message.type !== 'sticker') body.push(h('div', { class: 'text' }, message.text))
    if (message.transcript) body.push(h('div', { class: 'transcript' }, h('span', { class: 'meta' }, 'Transcript: '), message.transcript))
    return body
  }
  if (message.reply) {
    body.push(
      h('div', { class: 'choice' }, 'chose: ', h('strong', {}, message.reply.title ?? message.reply.id)),
      message.reply.description ? h('div', { class: 'meta' }, message.reply.description) : null,
    )
    return body
  }
  if (message.location) return [...body, locationCard(message.location)]
  if (message.contacts) return [...body, message.contacts.map((contact) => contactCard(contact))]
  if (message.reaction) {
    const emoji = message.reaction.emoji
    return [...body, h('div', { class: 'text' }, emoji === '' ? 'Took a reaction back' : `Reacted ${emoji} to a message not in this thread`)]
  }
  body.push(h('div', { class: 'text' }, message.text ?? `(${message.type} message)`))
  return body
}
