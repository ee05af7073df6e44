// @ts-check
/**
 * A message thread: direction, text, time and delivery status, with Meta's code and message on a
 * failure. Shared by Conversations (the business's view) and Sandbox chat (the user's view).
 */
import { api, listAll } from './api.js'
import { h, replace, timeEl } from './dom.js'

/** @typedef {import('./api.js').MessageDto} MessageDto */

/** Outbound delivery states as ticks and words (the words are what screen readers read). */
const OUT_STATUS = /** @type {Record<string, { ticks: string, words: string }>} */ ({
  queued: { ticks: '◷', words: 'Queued' },
  sent: { ticks: '✓', words: 'Sent' },
  delivered: { ticks: '✓✓', words: 'Delivered' },
  read: { ticks: '✓✓', words: 'Read' },
  failed: { ticks: '!', words: 'Failed' },
})

const IN_STATUS = /** @type {Record<string, string>} */ ({
  received: 'Received, waiting for the bot',
  processed: 'Handled by the bot',
  failed: 'The bot could not handle it',
})

/**
 * @param {MessageDto} message
 * @param {{ perspective: 'business' | 'user', participant: string, onResend?: (message: MessageDto) => void }} options
 */
function messageItem(message, options) {
  const outbound = message.direction === 'out'
  const who = outbound ? 'Bot' : options.perspective === 'user' ? 'You' : options.participant
  const retried = (message.provider_message_id ?? '').includes('~retry-')
  /** @type {unknown[]} */
  const foot = [timeEl(message.created_at)]
  if (outbound) {
    const status = OUT_STATUS[message.status] ?? { ticks: '', words: message.status }
    foot.push(h('span', { class: 'status' }, h('span', { class: 'ticks', 'aria-hidden': 'true' }, status.ticks), ' ', status.words))
  } else {
    foot.push(h('span', { class: 'status' }, IN_STATUS[message.status] ?? message.status))
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
  return h(
    'li',
    {
      class: `msg ${message.direction} status-${message.status}${message.status === 'failed' ? ' failed' : ''}`,
      'data-message-id': message.id,
      'data-status': message.status,
    },
    h('div', { class: 'who' }, who, retried ? ' · retried' : '', message.type !== 'text' ? ` · ${message.type}` : ''),
    h('div', { class: 'text' }, message.text ?? `(${message.type} message)`),
    error,
    h('div', { class: 'foot' }, foot),
    resend,
  )
}

/**
 * A live thread: polls the conversation's messages and redraws only when something changed, keeping
 * the reader at the bottom when they were there.
 * @param {{ conversationId: string, perspective: 'business' | 'user', participant: string, label: string,
 *   onResend?: (message: MessageDto) => void, pollMs?: number, extraClass?: string }} options
 */
export function liveThread(options) {
  const list = h('ol', { class: `thread ${options.extraClass ?? ''}`, 'aria-label': options.label, tabindex: '0' })
  const note = h('p', { class: 'meta', role: 'status' })
  let signature = ''
  let stopped = false

  const refresh = async () => {
    try {
      const { items, complete } = await listAll(`/api/conversations/${options.conversationId}/messages`)
      const next = items.map((/** @type {MessageDto} */ m) => `${m.id}:${m.status}:${m.error?.code ?? ''}`).join('|')
      if (next !== signature && !stopped) {
        // The first drawing starts at the newest message; later ones follow only a reader already there.
        const atBottom = signature === '' || list.scrollTop + list.clientHeight >= list.scrollHeight - 24
        signature = next
        if (items.length === 0) replace(list, h('li', { class: 'empty' }, 'No messages yet.'))
        else replace(list, items.map((/** @type {MessageDto} */ m) => messageItem(m, options)))
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
    stop() {
      stopped = true
      clearInterval(timer)
    },
  }
}

/**
 * Queues the text of a failed reply again to the same participant (a new message).
 * @param {string} channelId
 * @param {{ phone: string | null, bsuid: string | null }} participant
 * @param {MessageDto} message
 */
export async function resend(channelId, participant, message) {
  const to = participant.phone ?? participant.bsuid
  if (!to || !message.text) throw new Error('This message cannot be sent again: it has no text or no recipient.')
  await api('POST', `/api/channels/${channelId}/messages`, { to, text: message.text })
}
