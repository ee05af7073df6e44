// @ts-check
/**
 * Conversations, an inbox: a channel's conversations (newest first), or every conversation waiting for
 * a person (handed over from the bot, newest activity first), each with its 24-hour service window,
 * whether the person opted out and whether a person answers it. One conversation's thread updates itself
 * every few seconds while the page is visible; above it, who answers (Take over / Give back to bot, and
 * when it goes back to the bot by itself), and below it the composer to answer as an agent.
 */
import { api, listAll, refreshGatewayClock } from '../api.js'
import { announce, busy, field, h, replace, timeEl } from '../dom.js'
import { agentComposer } from '../composer.js'
import { windowState, windowWords } from '../service-window.js'
import { liveThread, resend } from '../thread.js'

/**
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 * @typedef {import('../api.js').ConversationDto} ConversationDto
 * @typedef {{ view: 'channel' | 'waiting', channel: string | null, conversation?: string }} InboxPlace
 */

/** How often the list (and the selected conversation's state) is read again. */
const LIST_POLL_MS = 5000

/** @param {ConversationDto['participant']} participant */
export function participantName(participant) {
  const id = participant.phone ?? participant.bsuid ?? participant.id
  return participant.name ? `${participant.name} (${id})` : id
}

/** The page's address for a view, a channel (or all) and a conversation. */
function placeHref(/** @type {InboxPlace} */ place) {
  const query = new URLSearchParams()
  if (place.view === 'waiting') query.set('view', 'waiting')
  if (place.channel) query.set('channel', place.channel)
  if (place.conversation) query.set('conversation', place.conversation)
  const text = query.toString()
  return `/console/conversations${text ? `?${text}` : ''}`
}

/** The badge a conversation a person answers carries in the list. */
function humanBadge() {
  return h('span', { class: 'badge human', 'data-handled-by': 'human' }, 'With a person')
}

/**
 * Who answers the conversation now, in words: the bot, or a person since when and until when.
 * @param {ConversationDto} conversation
 */
function handoverWords(conversation) {
  if (conversation.handled_by !== 'human') {
    return h('span', { 'data-handover-state': 'bot' }, h('span', { class: 'badge ok' }, 'Bot answers'), h('span', { class: 'explain' }, ' Take over to answer yourself: the bot then stays quiet.'))
  }
  return h(
    'span',
    { 'data-handover-state': 'human' },
    h('span', { class: 'badge human' }, 'A person answers'),
    conversation.handed_over_at ? [' since ', timeEl(conversation.handed_over_at)] : null,
    conversation.handover_expires_at
      ? h('span', { class: 'handover-expiry' }, ' · back to the bot at ', timeEl(conversation.handover_expires_at), ' unless an agent writes')
      : ' · until someone gives it back',
    h('span', { class: 'explain' }, '. The bot stays quiet meanwhile.'),
  )
}

/** A change of any of these redraws the selected conversation's lines and composer. */
function conversationState(/** @type {ConversationDto} */ c) {
  return [c.handled_by, c.handed_over_at, c.handover_expires_at, c.service_window_expires_at, windowState(c), c.opted_out_at].join('|')
}

/**
 * A conversation not in the list shown (one given back to the bot while the waiting list is open, or
 * an address kept from before): looked up among the team's conversations.
 * @param {string} id
 * @returns {Promise<ConversationDto | undefined>}
 */
async function findConversation(id) {
  const { items } = await listAll('/api/conversations')
  return items.find((/** @type {ConversationDto} */ c) => c.id === id)
}

/** @param {import('../main.js').PageContext} context */
export async function renderConversations({ main, params, navigate }) {
  const { items: channels } = await listAll('/api/channels')
  if (channels.length === 0) {
    replace(main, h('h1', {}, 'Conversations'), h('p', {}, 'No channels yet: ', h('a', { href: '/console/channels', 'data-nav': true }, 'connect a number'), ' first.'))
    return
  }
  /** @type {Map<string, ChannelDto>} */
  const channelsById = new Map(channels.map((/** @type {ChannelDto} */ c) => [c.id, c]))
  const view = params.get('view') === 'waiting' ? 'waiting' : 'channel'
  // By channel, one channel is always chosen; waiting for a person, all channels unless one is.
  const asked = channelsById.get(params.get('channel') ?? '')
  const channel = asked ?? (view === 'channel' ? /** @type {ChannelDto} */ (channels[0]) : null)
  const selectedId = params.get('conversation')
  /** @type {InboxPlace} */
  const here = { view, channel: channel?.id ?? null }

  const picker = field({
    label: 'Channel',
    name: 'channel',
    value: channel?.id ?? '',
    options: [...(view === 'waiting' ? [{ value: '', label: 'All channels' }] : []), ...channels.map((/** @type {ChannelDto} */ c) => ({ value: c.id, label: `${c.name} (${c.number})` }))],
  })
  picker.querySelector('select')?.addEventListener('change', (event) => {
    navigate(placeHref({ view, channel: /** @type {HTMLSelectElement} */ (event.target).value || null }))
  })
  const waitingCount = h('span', { class: 'count', 'data-waiting-count': true })
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Which conversations' },
    h('a', { href: placeHref({ view: 'channel', channel: channel?.id ?? null }), 'data-nav': true, 'aria-current': view === 'channel' ? 'page' : false }, 'By channel'),
    h('a', { href: placeHref({ view: 'waiting', channel: null }), 'data-nav': true, 'aria-current': view === 'waiting' ? 'page' : false }, 'Waiting for a person', waitingCount),
  )

  const listLabel = view === 'waiting' ? `Waiting for a person${channel ? ` on ${channel.name}` : ''}` : `Conversations of ${channel?.name}`
  const listBox = h('ul', { class: 'list conv-list', 'aria-label': listLabel })
  /** @type {ConversationDto[]} */
  let conversations = []
  let signature = '(none yet)'
  /** @type {ConversationDto | undefined} */
  let selected
  /** Redraws what shows the selected conversation's state; set once the thread is drawn. */
  let onSelectedChange = (/** @type {ConversationDto} */ _next) => {}

  const loadList = async () => {
    await refreshGatewayClock()
    const waiting = await listAll(`/api/conversations?handled_by=human${channel && view === 'waiting' ? `&channel_id=${encodeURIComponent(channel.id)}` : ''}`, 1)
    waitingCount.textContent = waiting.items.length === 0 ? '' : ` ${waiting.items.length}${waiting.complete ? '' : '+'}`
    conversations = view === 'waiting' ? waiting.items : (await listAll(`/api/channels/${channel?.id}/conversations`)).items.reverse()
    const current = conversations.find((c) => c.id === selectedId)
    if (current && selected && conversationState(current) !== conversationState(selected)) onSelectedChange(current)
    // Redraw only on a change (the window's state counts: it closes with time alone), so a poll never
    // takes the keyboard focus away from a link.
    const next = conversations.map((c) => `${c.id}:${c.last_inbound_at}:${conversationState(c)}`).join(',')
    if (next === signature) return
    signature = next
    if (conversations.length === 0) {
      replace(
        listBox,
        h(
          'li',
          { class: 'empty' },
          view === 'waiting'
            ? 'Nobody is waiting for a person. A conversation shows here when someone takes it over, or its bot hands it over.'
            : `No conversations yet. They start when someone writes to ${channel?.number}.`,
        ),
      )
      return
    }
    replace(
      listBox,
      conversations.map((c) => {
        const on = channelsById.get(c.channel_id)
        return h(
          'li',
          { 'data-conversation': c.id },
          h(
            'a',
            { href: placeHref({ ...here, conversation: c.id }), 'data-nav': true, 'aria-current': c.id === selectedId ? 'true' : false },
            h('span', { class: 'conv-name' }, participantName(c.participant)),
            c.handled_by === 'human' ? [' ', humanBadge()] : null,
            view === 'waiting' && on ? [h('br'), h('span', { class: 'meta' }, `${on.name} (${on.number})`)] : null,
            h('br'),
            h('span', { class: 'meta' }, 'Last message from them: ', timeEl(c.last_inbound_at)),
            h('br'),
            h('span', { class: 'meta' }, windowWords(c)),
          ),
        )
      }),
    )
  }
  await loadList()

  /** @type {ReturnType<typeof liveThread> | null} */
  let thread = null
  const threadBox = h('section', { 'aria-labelledby': 'thread-heading' })
  selected = conversations.find((c) => c.id === selectedId) ?? (selectedId ? await findConversation(selectedId) : undefined)
  const selectedChannel = selected ? channelsById.get(selected.channel_id) : undefined
  if (selected && selectedChannel) {
    const name = participantName(selected.participant)
    const resendNote = h('div', { role: 'status' })
    /** The selected conversation's window line. */
    const windowSlot = h('p', { class: 'meta', 'data-window-slot': true })
    const handoverLine = h('span')
    const handoverNote = h('div', { role: 'status' })
    const handoverButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'small', 'data-handover': true }))
    const handoverBar = h('div', { class: 'handover-bar', 'data-handover-bar': true }, handoverLine, handoverButton)
    /** Inbound messages that came while a person answers were left for them, not handled by the bot. */
    const inboundNote = (/** @type {import('../api.js').MessageDto} */ m) => {
      const since = selected?.handled_by === 'human' ? selected.handed_over_at : null
      return m.status === 'processed' && since !== null && since !== undefined && m.created_at >= since ? 'Left for a person' : null
    }
    thread = liveThread({
      conversationId: selected.id,
      perspective: 'business',
      participant: selected.participant.name ?? selected.participant.phone ?? 'Participant',
      label: `Messages with ${name}`,
      inboundNote,
      onResend: async (message) => {
        try {
          if (!selected) return
          await resend(selectedChannel.id, selected.participant, message)
          announce('Queued again')
          await thread?.refresh()
        } catch (error) {
          replace(resendNote, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
        }
      },
    })
    const composer = agentComposer({ conversation: selected, channel: selectedChannel, name, onSent: () => thread?.refresh() })
    const drawSelected = (/** @type {ConversationDto} */ conversation) => {
      replace(windowSlot, windowWords(conversation))
      replace(handoverLine, handoverWords(conversation))
      handoverButton.textContent = conversation.handled_by === 'human' ? 'Give back to bot' : 'Take over'
      handoverButton.className = conversation.handled_by === 'human' ? 'secondary small' : 'small'
    }
    onSelectedChange = (next) => {
      const handChanged = next.handled_by !== selected?.handled_by || next.handed_over_at !== selected?.handed_over_at
      selected = next
      drawSelected(next)
      composer.update(next)
      if (handChanged) void thread?.redraw()
    }
    drawSelected(selected)
    handoverButton.addEventListener('click', () =>
      busy(handoverButton, async () => {
        const to = selected?.handled_by === 'human' ? 'bot' : 'human'
        try {
          /** @type {ConversationDto} */
          const updated = await api('POST', `/api/conversations/${encodeURIComponent(selected?.id ?? '')}/handover`, { to })
          replace(handoverNote)
          onSelectedChange(updated)
          announce(to === 'human' ? `You answer ${name} now; the bot stays quiet` : `The bot answers ${name} again`)
          await loadList()
        } catch (error) {
          replace(handoverNote, h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message))
        }
      }),
    )
    const refreshButton = h('button', { type: 'button', class: 'secondary small refresh', onclick: () => void thread?.refresh() }, 'Refresh')
    replace(
      threadBox,
      h('a', { class: 'back-link', href: placeHref(here), 'data-nav': true }, view === 'waiting' ? '← Waiting for a person' : '← All conversations'),
      h('div', { class: 'card-head' }, h('h2', { id: 'thread-heading', class: 'flush' }, name), refreshButton),
      windowSlot,
      handoverBar,
      handoverNote,
      resendNote,
      thread.element,
      composer.element,
    )
    await thread.refresh()
  } else {
    replace(
      threadBox,
      h('h2', { id: 'thread-heading', class: 'visually-hidden' }, 'Thread'),
      h('p', { class: 'empty' }, selectedId ? 'This conversation was not found: choose one from the list.' : 'Choose a conversation to see its messages.'),
    )
  }

  replace(
    main,
    h(
      'div',
      { class: `inbox${selected ? ' has-selection' : ''}` },
      h('h1', {}, 'Conversations'),
      h('p', { class: 'lead' }, 'Every message in and out, with its delivery status, and the conversations waiting for a person. Threads update by themselves.'),
      h('div', { class: 'card inbox-filter' }, tabs, picker),
      h(
        'div',
        { class: 'split' },
        h('div', { class: 'card conv-side' }, h('h2', { class: 'flush' }, view === 'waiting' ? 'Waiting for a person' : 'People'), listBox),
        h('div', { class: 'card conv-main' }, threadBox),
      ),
    ),
  )
  const listTimer = setInterval(() => {
    if (document.visibilityState === 'visible') void loadList().catch(() => {})
  }, LIST_POLL_MS)
  return () => {
    clearInterval(listTimer)
    thread?.stop()
  }
}
