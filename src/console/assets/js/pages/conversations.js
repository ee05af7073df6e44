// @ts-check
/**
 * Conversations: a channel's conversations (newest first) and one conversation's thread, which updates
 * itself every few seconds while the page is visible.
 */
import { listAll } from '../api.js'
import { announce, field, h, replace, timeEl } from '../dom.js'
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
  const loadList = async () => {
    conversations = (await listAll(`/api/channels/${channel.id}/conversations`)).items.reverse()
    // Redraw only on a change, so a poll never takes the keyboard focus away from a link.
    const next = conversations.map((c) => `${c.id}:${c.last_inbound_at}`).join('|')
    if (next === signature) return
    signature = next
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
    replace(threadBox, h('div', { class: 'card-head' }, h('h2', { id: 'thread-heading', class: 'flush' }, name), refreshButton), resendNote, thread.element)
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
