// @ts-check
/**
 * The 24-hour service window of a conversation, as the gateway's clock sees it now: open (the business
 * writes freely), closed (only approved templates), or never opened (they never wrote). Shared by
 * Conversations, its composer and Sandbox chat.
 */
import { gatewayNow } from './api.js'
import { h, timeEl } from './dom.js'

/** @typedef {import('./api.js').ConversationDto} ConversationDto */

/**
 * Whether the business may write freely: the window's state at the gateway's time now.
 * @param {ConversationDto} conversation
 * @returns {'open' | 'closed' | 'never'}
 */
export function windowState(conversation) {
  const expires = conversation.service_window_expires_at
  if (!expires) return 'never'
  return Date.parse(expires) > gatewayNow() ? 'open' : 'closed'
}

/**
 * The window and opt-out in words, with badges.
 * @param {ConversationDto} conversation
 */
export function windowWords(conversation) {
  const state = windowState(conversation)
  const expires = conversation.service_window_expires_at
  const window =
    state === 'open'
      ? h('span', { class: 'window', 'data-window': 'open' }, h('span', { class: 'badge ok' }, 'Window open'), ' until ', timeEl(expires))
      : state === 'closed'
        ? h('span', { class: 'window', 'data-window': 'closed' }, h('span', { class: 'badge warn' }, 'Window closed'), ' since ', timeEl(expires), ': only templates')
        : h('span', { class: 'window', 'data-window': 'never' }, h('span', { class: 'badge warn' }, 'No window'), ' they never wrote, so only templates')
  const optedOut = conversation.opted_out_at
    ? h('span', { class: 'opted-out' }, h('span', { class: 'badge bad' }, 'Opted out'), ' ', timeEl(conversation.opted_out_at))
    : null
  return h('span', { class: 'window-line' }, window, optedOut ? ' · ' : null, optedOut)
}
