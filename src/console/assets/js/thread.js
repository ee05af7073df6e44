// @ts-check
/**
 * A message thread: direction and who wrote it (the participant, the bot, an agent, the team's API, a
 * broadcast or the gateway), what each message carries (message-body.js), time and delivery status,
 * with Meta's code and message on a failure, and reactions on the message they react to. Shared by
 * Conversations (the business's view) and Sandbox chat (the user's view, which can tap the bot's buttons).
 */
import { api, blobUrl, listAll } from './api.js'
import { h, replace, timeEl } from './dom.js'
import { messageBody, reactionOf } from './message-body.js'

/**
 * @typedef {import('./api.js').MessageDto} MessageDto
 * @typedef {import('./message-body.js').Choice} Choice
 */

/** Outbound delivery states as ticks and words (the words are what screen readers read). */
const OUT_STATUS = /** @type {Record<string, { ticks: string, words: string }>} */ ({
  queued: { ticks: '◷', words: 'Queued' },
  sent: { ticks: '✓', words: 'Sent' },
  delivered: { ticks: '✓✓', words: 'Delivered' },
  read: { ticks: '✓✓', words: 'Read' },
  failed: { ticks: '!', words: 'Failed' },
})

/** Types named for people where the API's name is a code. */
const TYPE_WORDS = /** @type {Record<string, string>} */ ({ cta_url: 'link button', contacts: 'contact' })

const IN_STATUS = /** @type {Record<string, string>} */ ({
  received: 'Received, waiting for the bot',
  processed: 'Handled by the bot',
  failed: 'The bot could not handle it',
})

/**
 * Who wrote an outbound message (`author`), as a label: the bot, a person of the team, or the team's
 * systems and the gateway itself. Each also has its own bubble style (`author-…` in console.css).
 */
const AUTHOR_WORDS = /** @type {Record<string, string>} */ ({
  bot: 'Bot',
  agent: 'Agent',
  api: 'API',
  broadcast: 'Broadcast',
  gateway: 'Gateway',
})

/** The label of an outbound message's author ("Business" for one the API does not name). */
export function authorWords(/** @type {MessageDto} */ message) {
  return AUTHOR_WORDS[message.author] ?? 'Business'
}

/**
 * @typedef {{ perspective: 'business' | 'user', participant: string, onResend?: (message: MessageDto) => void,
 *   outboundMedia?: (message: MessageDto) => Promise<string | null>, onChoose?: (message: MessageDto, choice: Choice) => void,
 *   inboundNote?: (message: MessageDto) => string | null }} ThreadOptions
 */

/**
 * Blob URLs of media read with the token, by API path: each is fetched once per page load.
 * @type {Map<string, Promise<string | null>>}
 */
const blobs = new Map()

/**
 * What the bot sent by media id, read from the gateway's copy with the token (`GET /api/media/{id}`).
 * @param {MessageDto} message
 * @returns {Promise<string | null>}
 */
function storedMedia(message) {
  const sent = message.message
  const id = sent && 'media_id' in sent ? sent.media_id : undefined
  if (!id) return Promise.resolve(null)
  const path = `/api/media/${encodeURIComponent(id)}`
  let url = blobs.get(path)
  if (!url) {
    url = blobUrl(path).catch(() => null)
    blobs.set(path, url)
  }
  return url
}

/**
 * Reactions drawn on the message they react to: per target, the latest emoji from each side ("" takes
 * it back). A reaction whose target is not in the thread keeps a line of its own, and so does one that
 * failed to go out (its error must show).
 * @param {MessageDto[]} items
 * @param {Map<string, MessageDto>} byId
 */
function placeReactions(items, byId) {
  /** @type {Map<string, Map<'in' | 'out', string>>} */
  const onTarget = new Map()
  /** @type {Set<string>} */
  const placed = new Set()
  for (const message of items) {
    const reaction = reactionOf(message)
    if (!reaction || !reaction.target || !byId.has(reaction.target) || message.status === 'failed') continue
    placed.add(message.id)
    const sides = onTarget.get(reaction.target) ?? new Map()
    sides.set(message.direction, reaction.emoji)
    onTarget.set(reaction.target, sides)
  }
  return { onTarget, placed }
}

/**
 * Inbound messages the gateway answered itself (a disabled channel's offline message, an opt-out
 * reply): the bot was never asked, so their line must not say it handled them.
 * @param {MessageDto[]} items
 */
function answeredByGateway(items) {
  return new Set(items.filter((m) => m.direction === 'out' && m.author === 'gateway' && m.reply_to_id).map((m) => m.reply_to_id))
}

/**
 * @param {MessageDto} message
 * @param {ThreadOptions} options
 * @param {import('./message-body.js').BodyContext} context
 * @param {Map<'in' | 'out', string> | undefined} reactions
 * @param {boolean} [gatewayAnswered]  an inbound message the gateway answered in the bot's place
 */
function messageItem(message, options, context, reactions, gatewayAnswered = false) {
  const outbound = message.direction === 'out'
  const who = context.who(message)
  const retried = (message.provider_message_id ?? '').includes('~retry-')
  /** @type {unknown[]} */
  const foot = [timeEl(message.created_at)]
  if (outbound) {
    const status = OUT_STATUS[message.status] ?? { ticks: '', words: message.status }
    foot.push(h('span', { class: 'status' }, h('span', { class: 'ticks', 'aria-hidden': 'true' }, status.ticks), ' ', status.words))
  } else {
    const note = gatewayAnswered && message.status === 'processed' ? 'Answered by the gateway; the bot was not asked' : IN_STATUS[message.status]
    foot.push(h('span', { class: 'status' }, options.inboundNote?.(message) ?? note ?? message.status))
  }
  const error = message.error
    ? h(
        'p',
        { class: 'error' },
        outbound ? 'Not delivered. ' : 'Failed. ',
        /^\d+$/.test(message.error.code) ? `Provider error ${message.error.code}: ` : `${message.error.code}: `,
        message.error.message,
      )
    : null
  const resend =
    outbound && message.status === 'failed' && options.onResend
      ? h('button', { type: 'button', class: 'secondary small', onclick: () => options.onResend?.(message) }, 'Send again')
      : null
  const shown = [...(reactions ?? new Map()).entries()].filter(([, emoji]) => emoji !== '')
  const reactionBar =
    shown.length > 0
      ? h(
          'div',
          { class: 'reactions' },
          shown.map(([side, emoji]) => {
            const by = side === 'out' ? 'the bot' : options.perspective === 'user' ? 'you' : options.participant
            return h('span', { class: 'reaction', 'data-from': side, title: `Reaction from ${by}`, 'aria-label': `${emoji}, reaction from ${by}` }, emoji)
          }),
        )
      : null
  // The author as a label of its own (outbound), so "Agent" and "Bot" read apart at a glance.
  const author = outbound ? h('span', { class: `author author-${message.author}` }, who) : who
  return h(
    'li',
    {
      class: `msg ${message.direction} author-${message.author} type-${message.type} status-${message.status}${message.status === 'failed' ? ' failed' : ''}${reactionBar ? ' has-reactions' : ''}`,
      'data-message-id': message.id,
      'data-status': message.status,
      'data-type': message.type,
      'data-author': message.author,
    },
    h('div', { class: 'who' }, author, retried ? ' · retried' : '', message.type !== 'text' ? ` · ${TYPE_WORDS[message.type] ?? message.type}` : ''),
    messageBody(message, context),
    error,
    h('div', { class: 'foot' }, foot),
    resend,
    reactionBar,
  )
}

/** What makes a message look different: a redraw happens only when one of these changed. */
function stateOf(/** @type {MessageDto} */ m) {
  return [m.id, m.status, m.error?.code ?? '', m.media?.status ?? '', m.provider_message_id ? 1 : 0, m.reaction?.message_id ?? '', m.context?.message_id ?? ''].join(':')
}

/**
 * A live thread: polls the conversation's messages and redraws only when something changed, keeping
 * the reader at the bottom when they were there. Media elements survive redraws (no reload, a voice
 * note keeps playing).
 * @param {ThreadOptions & { conversationId: string, label: string, pollMs?: number, extraClass?: string }} options
 */
export function liveThread(options) {
  const list = h('ol', { class: `thread ${options.extraClass ?? ''}`, 'aria-label': options.label, tabindex: '0' })
  const note = h('p', { class: 'meta', role: 'status' })
  let signature = ''
  let stopped = false
  /** Whether the reader is at the newest message: a picture loading then keeps them there. */
  let pinned = true
  list.addEventListener('scroll', () => (pinned = list.scrollTop + list.clientHeight >= list.scrollHeight - 24))
  // `load` does not bubble: caught on the way down, for every picture and player of the thread.
  const keepAtBottom = () => {
    if (pinned) list.scrollTop = list.scrollHeight
  }
  list.addEventListener('load', keepAtBottom, true)
  list.addEventListener('loadedmetadata', keepAtBottom, true)
  /** @type {Map<string, HTMLElement>} */
  const cache = new Map()
  /** @param {MessageDto} m */
  const who = (m) => (m.direction === 'out' ? authorWords(m) : options.perspective === 'user' ? 'You' : options.participant)

  const refresh = async () => {
    try {
      const { items, complete } = await listAll(`/api/conversations/${options.conversationId}/messages`)
      const next = items.map(stateOf).join('|')
      if (next !== signature && !stopped) {
        // The first drawing starts at the newest message; later ones follow only a reader already there.
        const atBottom = signature === '' || list.scrollTop + list.clientHeight >= list.scrollHeight - 24
        signature = next
        /** @type {Map<string, MessageDto>} */
        const byId = new Map(items.map((/** @type {MessageDto} */ m) => [m.id, m]))
        const { onTarget, placed } = placeReactions(items, byId)
        // Only the bot's latest buttons or list can be tapped, as on a phone where older ones scrolled away.
        const latestChoice = [...items].reverse().find((/** @type {MessageDto} */ m) => m.direction === 'out' && (m.message?.type === 'buttons' || m.message?.type === 'list'))
        const outboundMedia = options.outboundMedia ?? storedMedia
        const shown = items.filter((/** @type {MessageDto} */ m) => !placed.has(m.id))
        const byGateway = answeredByGateway(items)
        if (shown.length === 0) replace(list, h('li', { class: 'empty' }, 'No messages yet.'))
        else {
          replace(
            list,
            shown.map((/** @type {MessageDto} */ m) =>
              messageItem(
                m,
                options,
                { byId, who, outboundMedia, cache, tappable: m === latestChoice && Boolean(m.provider_message_id), ...(options.onChoose ? { onChoose: options.onChoose } : {}) },
                onTarget.get(m.id),
                byGateway.has(m.id),
              ),
            ),
          )
        }
        // After layout: on the first drawing the thread is not in the page yet.
        if (atBottom) requestAnimationFrame(() => (list.scrollTop = list.scrollHeight))
      }
      note.textContent = complete ? '' : 'Showing the first 1,000 messages of this conversation.'
    } catch (error) {
      note.textContent = /** @type {Error} */ (error).message
    }
  }

  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') void refresh()
  }, options.pollMs ?? 1500)
  return {
    element: h('div', {}, list, note),
    refresh,
    /** Draws again even when no message changed (what `inboundNote` says may have). */
    redraw() {
      signature = ''
      return refresh()
    },
    stop() {
      stopped = true
      clearInterval(timer)
    },
  }
}

/**
 * Queues a failed reply again to the same participant (a new message): the message as it was sent, or
 * its text.
 * @param {string} channelId
 * @param {{ phone: string | null, bsuid: string | null }} participant
 * @param {MessageDto} message
 */
export async function resend(channelId, participant, message) {
  const to = participant.phone ?? participant.bsuid
  if (!to || !(message.message || message.text)) throw new Error('This message cannot be sent again: it has no content or no recipient.')
  await api('POST', `/api/channels/${channelId}/messages`, message.message ? { to, message: message.message } : { to, text: message.text })
}
