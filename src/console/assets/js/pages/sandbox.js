// @ts-check
/**
 * Sandbox chat (only when the console was opened from `npm run sandbox`): write as a WhatsApp user.
 * The text goes to the sandbox's stand-in for Meta, which signs it with the App Secret (the page never
 * sees that secret) and posts it to the gateway's webhook exactly as Meta would. The thread itself is
 * read from the admin API like any other conversation, so what shows is what the gateway stored.
 */
import { api, listAll, session } from '../api.js'
import { announce, busy, clearFormErrors, field, h, replace, showFormError } from '../dom.js'
import { liveThread } from '../thread.js'

/**
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 * @typedef {import('../api.js').ConversationDto} ConversationDto
 * @typedef {{ business_number: string, phone_number_id: string, user: { phone: string, name: string } }} SandboxInfo
 */

/** @param {import('../main.js').PageContext} context */
export async function renderSandbox({ main }) {
  const base = session.sandboxUrl
  if (!base) {
    replace(
      main,
      h('h1', {}, 'Sandbox chat'),
      h('p', {}, 'This page works when the console is opened from the address ', h('code', {}, 'npm run sandbox'), ' prints.'),
    )
    return
  }
  /** @type {SandboxInfo} */
  const info = await api('GET', '/sandbox/info', undefined, { base })
  const { items: channels } = await listAll('/api/channels')
  /** @type {ChannelDto | undefined} */
  const channel = channels.find((/** @type {ChannelDto} */ c) => c.number === info.business_number)
  if (!channel) {
    replace(main, h('h1', {}, 'Sandbox chat'), h('div', { class: 'alert error', role: 'alert' }, `No channel has the sandbox number ${info.business_number}. Restart npm run sandbox to set it up again.`))
    return
  }
  const bot = await api('GET', `/api/bots/${channel.bot_id}`)

  const threadBox = h('div', {}, h('p', { class: 'empty' }, 'No messages yet: say hello below.'))
  /** @type {ReturnType<typeof liveThread> | null} */
  let thread = null
  /** Attaches the live thread once the gateway has stored the first message of this user. */
  const attach = async () => {
    if (thread) return thread.refresh()
    const { items } = await listAll(`/api/channels/${channel.id}/conversations`)
    const conversation = items.find((/** @type {ConversationDto} */ c) => c.participant.phone === info.user.phone)
    if (!conversation) return
    thread = liveThread({
      conversationId: conversation.id,
      perspective: 'user',
      participant: info.user.name,
      label: `Chat between you and ${channel.name}`,
      pollMs: 700,
      extraClass: 'thread-sandbox',
    })
    replace(threadBox, thread.element)
    await thread.refresh()
  }
  await attach()
  // Until the first message is stored there is no conversation to poll; look for it.
  const waitTimer = setInterval(() => {
    if (!thread) void attach().catch(() => {})
  }, 700)

  const composer = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { novalidate: true },
      h(
        'div',
        { class: 'composer' },
        field({ label: `Message from ${info.user.name} (${info.user.phone})`, name: 'text', autocomplete: 'off', placeholder: 'Type a message' }),
        h('button', { type: 'submit' }, 'Send'),
      ),
      h('div', { class: 'form-alert' }),
    )
  )
  composer.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(composer)
    const input = /** @type {HTMLInputElement} */ (composer.elements.namedItem('text'))
    const text = input.value.trim()
    if (!text) return showFormError(composer, { message: 'Type a message first.', field: 'text' })
    await busy(composer.querySelector('button'), async () => {
      try {
        const sent = await api('POST', '/sandbox/messages', { text }, { base })
        if (sent.gateway_status !== 200) {
          showFormError(composer, { message: `The gateway refused the webhook (HTTP ${sent.gateway_status}): ${sent.gateway_answer}` })
          return
        }
        input.value = ''
        announce('Sent')
        await attach()
      } catch (error) {
        showFormError(composer, error)
      }
    })
    input.focus()
  })

  const failNote = h('div', { role: 'status' })
  const failButton = h('button', { type: 'button', class: 'secondary small' }, 'Make Meta refuse the next reply')
  failButton.addEventListener('click', () =>
    busy(failButton, async () => {
      try {
        await api('POST', '/sandbox/fail-next', {}, { base })
        replace(failNote, h('div', { class: 'alert warn' }, 'The next reply will be refused as Meta refuses an undeliverable message (error 131026). Send a message to see how a failure looks.'))
      } catch (error) {
        replace(failNote, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
      }
    }),
  )

  replace(
    main,
    h('h1', {}, 'Sandbox chat'),
    h(
      'p',
      { class: 'lead' },
      `You are ${info.user.name} (${info.user.phone}), writing on WhatsApp to ${channel.name} (${channel.number}). `,
      'Each message reaches the gateway as a webhook signed with the App Secret, exactly as Meta sends it; replies go to a stand-in for Meta, which reports them sent, delivered and read.',
    ),
    h('div', { class: 'card' }, threadBox, composer),
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'flush' }, 'Who answers'),
      h(
        'p',
        {},
        `Bot “${bot.name}” (${bot.type}). To try your own bot, add an http bot on the `,
        h('a', { href: '/console/bots', 'data-nav': true }, 'Bots'),
        ' page, then choose it for this channel on the ',
        h('a', { href: '/console/channels', 'data-nav': true }, 'Channels'),
        ' page.',
      ),
      h('h2', {}, 'See a failure'),
      h('div', { class: 'row' }, failButton),
      failNote,
    ),
  )
  return () => {
    clearInterval(waitTimer)
    thread?.stop()
  }
}
