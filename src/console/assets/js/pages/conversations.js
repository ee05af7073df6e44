// @ts-check
/**
 * Conversations: a channel's conversations (newest first), each with its 24-hour service window (open
 * until when, or closed: only templates) and whether the person opted out, and one conversation's
 * thread, which updates itself every few seconds while the page is visible, with a box to write to the
 * person as the business.
 */
import { api, gatewayNow, listAll, refreshGatewayClock } from '../api.js'
import { announce, busy, clearFormErrors, field, h, replace, showFormError, timeEl } from '../dom.js'
import { liveThread, resend } from '../thread.js'

/**
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 * @typedef {import('../api.js').ConversationDto} ConversationDto
 */

/** @param {ConversationDto['participant']} participant */
export function participantName(participant) {
  const id = participant.phone ?? participant.bsuid ?? participant.id
  return participant.name ? `${participant.name} (${id})` : id
}

/**
 * A box to write to the person as the business (`POST /api/conversations/{id}/messages`). A closed
 * window, an opt-out or anything else the gateway refuses is shown in its own words.
 * @param {ConversationDto} conversation
 * @param {string} name
 * @param {() => Promise<void> | undefined} refresh
 */
function businessComposer(conversation, name, refresh) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { novalidate: true, class: 'business-composer' },
      h(
        'div',
        { class: 'composer' },
        field({
          label: `Write to ${name} as the business`,
          name: 'text',
          autocomplete: 'off',
          placeholder: 'Type a message',
          hint: 'Outside the 24-hour window a text goes out as the channel’s out-of-window template, or is refused when it has none.',
        }),
        h('button', { type: 'submit' }, 'Send'),
      ),
      h('div', { class: 'form-alert' }),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(form)
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('text'))
    const text = input.value.trim()
    if (!text) return showFormError(form, { message: 'Type a message first.', field: 'text' })
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        await api('POST', `/api/conversations/${encodeURIComponent(conversation.id)}/messages`, { message: { type: 'text', text } })
        input.value = ''
        announce('Queued')
        await refresh()
      } catch (error) {
        // The API's sentence says what to do (a template, the channel's setting…); not a field problem.
        showFormError(form, { message: /** @type {Error} */ (error).message })
      }
    })
    input.focus()
  })
  return form
}

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

/** @param {import('../main.js').PageContext} context */
export async function renderConversations({ main, params, navigate }) {
  const { items: channels } = await listAll('/api/channels')
  if (channels.length === 0) {
    replace(main, h('h1', {}, 'Conversations'), h('p', {}, 'No channels yet: ', h('a', { href: '/console/channels', 'data-nav': true }, 'connect a number'), ' first.'))
    return
  }
  const channelId = params.get('channel') ?? channels[0].id
  const channel = /** @type {ChannelDto | undefined} */ (channels.find((/** @type {ChannelDto} */ c) => c.id === channelId)) ?? channels[0]
  const selectedId = params.get('conversation')

  const picker = field({ label: 'Channel', name: 'channel', value: channel.id, options: channels.map((/** @type {ChannelDto} */ c) => ({ value: c.id, label: `${c.name} (${c.number})` })) })
  picker.querySelector('select')?.addEventListener('change', (event) => {
    navigate(`/console/conversations?channel=${encodeURIComponent(/** @type {HTMLSelectElement} */ (event.target).value)}`)
  })

  const listBox = h('ul', { class: 'list conv-list', 'aria-label': `Conversations of ${channel.name}` })
  /** @type {ConversationDto[]} */
  let conversations = []
  let signature = '(none yet)'
  /** The selected conversation's window line, redrawn with the list. */
  const windowSlot = h('p', { class: 'meta', 'data-window-slot': true })
  const loadList = async () => {
    await refreshGatewayClock()
    conversations = (await listAll(`/api/channels/${channel.id}/conversations`)).items.reverse()
    // Redraw only on a change (the window's state counts: it closes with time alone), so a poll never
    // takes the keyboard focus away from a link.
    const next = conversations.map((c) => `${c.id}:${c.last_inbound_at}:${c.service_window_expires_at}:${windowState(c)}:${c.opted_out_at}`).join('|')
    if (next === signature) return
    signature = next
    const current = conversations.find((c) => c.id === selectedId)
    if (current) replace(windowSlot, windowWords(current))
    if (conversations.length === 0) {
      replace(listBox, h('li', { class: 'empty' }, `No conversations yet. They start when someone writes to ${channel.number}.`))
      return
    }
    replace(
      listBox,
      conversations.map((c) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `/console/conversations?channel=${channel.id}&conversation=${c.id}`, 'data-nav': true, 'aria-current': c.id === selectedId ? 'true' : false },
            h('span', {}, participantName(c.participant)),
            h('br'),
            h('span', { class: 'meta' }, 'Last message from them: ', timeEl(c.last_inbound_at)),
            h('br'),
            h('span', { class: 'meta' }, windowWords(c)),
          ),
        ),
      ),
    )
  }
  await loadList()

  /** @type {ReturnType<typeof liveThread> | null} */
  let thread = null
  const threadBox = h('section', { 'aria-labelledby': 'thread-heading' })
  const selected = conversations.find((c) => c.id === selectedId)
  if (selected) {
    const name = participantName(selected.participant)
    const resendNote = h('div', { role: 'status' })
    thread = liveThread({
      conversationId: selected.id,
      perspective: 'business',
      participant: selected.participant.name ?? selected.participant.phone ?? 'Participant',
      label: `Messages with ${name}`,
      onResend: async (message) => {
        try {
          await resend(channel.id, selected.participant, message)
          announce('Queued again')
          await thread?.refresh()
        } catch (error) {
          replace(resendNote, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
        }
      },
    })
    const refreshButton = h('button', { type: 'button', class: 'secondary small', onclick: () => void thread?.refresh() }, 'Refresh')
    replace(
      threadBox,
      h('div', { class: 'card-head' }, h('h2', { id: 'thread-heading', class: 'flush' }, name), refreshButton),
      windowSlot,
      resendNote,
      thread.element,
      businessComposer(selected, name, () => thread?.refresh()),
    )
    await thread.refresh()
  } else {
    replace(threadBox, h('h2', { id: 'thread-heading', class: 'visually-hidden' }, 'Thread'), h('p', { class: 'empty' }, 'Choose a conversation to see its messages.'))
  }

  replace(
    main,
    h('h1', {}, 'Conversations'),
    h('p', { class: 'lead' }, 'Every message in and out, with its delivery status. Threads update by themselves.'),
    h('div', { class: 'card' }, picker),
    h('div', { class: 'split' }, h('div', { class: 'card' }, h('h2', { class: 'flush' }, 'People'), listBox), h('div', { class: 'card' }, threadBox)),
  )
  const listTimer = setInterval(() => {
    if (document.visibilityState === 'visible') void loadList().catch(() => {})
  }, 5000)
  return () => {
    clearInterval(listTimer)
    thread?.stop()
  }
}
