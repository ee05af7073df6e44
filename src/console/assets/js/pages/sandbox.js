// @ts-check
/**
 * Sandbox chat (only when the console was opened from `npm run sandbox`): write as a WhatsApp user: a
 * text, a photo or a document, a pin, or a tap on the bot's buttons and list rows. Each goes to the
 * sandbox's stand-in for Meta, which signs it with the App Secret (the page never sees that secret) and
 * posts it to the gateway's webhook exactly as Meta would. The thread itself is read from the admin API
 * like any other conversation, so what shows is what the gateway stored; media the bot sent shows as
 * the stand-in received it, which is what a phone would get.
 */
import { api, blobUrl, listAll, refreshGatewayClock, session } from '../api.js'
import { announce, busy, clearFormErrors, field, h, replace, showFormError, timeEl } from '../dom.js'
import { liveThread } from '../thread.js'
import { windowWords } from '../service-window.js'

/**
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 * @typedef {import('../api.js').ConversationDto} ConversationDto
 * @typedef {{ now: string, offset_ms: number }} SandboxClock
 * @typedef {{ business_number: string, phone_number_id: string, user: { phone: string, name: string }, clock?: SandboxClock }} SandboxInfo
 * @typedef {import('../api.js').MessageDto} MessageDto
 * @typedef {{ wamid: string, gateway_status: number, gateway_answer: string }} PhoneAnswer
 */

/** The pin "Send my pin" shares: the same demo place the sandbox's demo bot uses. */
const DEMO_PIN = { latitude: 52.37887, longitude: 4.90054, name: 'Amsterdam Centraal', address: 'Stationsplein, 1012 AB Amsterdam' }
/** The stand-in keeps media up to this size (it says so too; checking here saves an upload). */
const FILE_MAX = 16 * 1024 * 1024
/** What the file picker offers: WhatsApp's photo types and its document types. */
const FILE_TYPES = 'image/jpeg,image/png,application/pdf,text/plain,.doc,.docx,.xls,.xlsx,.ppt,.pptx'

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
      outboundMedia: sentMedia,
      onChoose: (message, choice) => void choose(message, choice),
    })
    replace(threadBox, thread.element)
    await thread.refresh()
  }
  /**
   * What the stand-in for Meta received for media the bot sent (nothing until it was sent).
   * @param {MessageDto} message
   * @returns {Promise<string | null>}
   */
  const sentMedia = (message) =>
    message.provider_message_id
      ? blobUrl(`/sandbox/sent/${encodeURIComponent(message.provider_message_id)}/media`, { base }).catch(() => null)
      : new Promise(() => {})

  const tapNote = h('div', { role: 'status' })
  /**
   * Taps a reply button or a list row of the bot's message.
   * @param {MessageDto} message
   * @param {{ id: string, title: string }} choice
   */
  const choose = async (message, choice) => {
    try {
      const sent = await api('POST', '/sandbox/tap', { message_id: message.provider_message_id, option_id: choice.id }, { base })
      if (sent.gateway_status !== 200) throw new Error(`The gateway refused the webhook (HTTP ${sent.gateway_status}): ${sent.gateway_answer}`)
      replace(tapNote)
      announce(`Chose ${choice.title}`)
      await attach()
    } catch (error) {
      replace(tapNote, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
    }
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

  /**
   * Posts one of the phone's sends and shows a refused webhook on `form`; true when it went through.
   * @param {HTMLFormElement} form
   * @param {() => Promise<PhoneAnswer>} send
   */
  const post = async (form, send) => {
    clearFormErrors(form)
    try {
      const sent = await send()
      if (sent.gateway_status !== 200) {
        showFormError(form, { message: `The gateway refused the webhook (HTTP ${sent.gateway_status}): ${sent.gateway_answer}` })
        return false
      }
      announce('Sent')
      await attach()
      return true
    } catch (error) {
      showFormError(form, error)
      return false
    }
  }

  const fileForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { novalidate: true },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Send a photo or a document'),
        field({ label: 'Photo or document', name: 'file', type: 'file', hint: 'JPEG and PNG go as photos, anything else as a document.' }),
        field({ label: 'Caption (optional)', name: 'caption', autocomplete: 'off' }),
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'secondary' }, 'Send file')),
        h('div', { class: 'form-alert' }),
      ),
    )
  )
  const fileInput = /** @type {HTMLInputElement} */ (fileForm.elements.namedItem('file'))
  fileInput.setAttribute('accept', FILE_TYPES)
  fileForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const file = fileInput.files?.[0]
    if (!file) return showFormError(fileForm, { message: 'Choose a file first.', field: 'file' })
    if (file.size === 0 || file.size > FILE_MAX) return showFormError(fileForm, { message: `The file must hold 1 byte to ${FILE_MAX / 1024 / 1024} MB.`, field: 'file' })
    const captionInput = /** @type {HTMLInputElement} */ (fileForm.elements.namedItem('caption'))
    const query = `filename=${encodeURIComponent(file.name)}&caption=${encodeURIComponent(captionInput.value.trim())}`
    await busy(fileForm.querySelector('button[type="submit"]'), async () => {
      if (await post(fileForm, () => api('POST', `/sandbox/media?${query}`, file, { base }))) {
        fileForm.reset()
      }
    })
  })

  const pinForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { novalidate: true },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Share a location'),
        h(
          'div',
          { class: 'pair' },
          field({ label: 'Latitude', name: 'latitude', inputmode: 'decimal', placeholder: `e.g. ${DEMO_PIN.latitude}` }),
          field({ label: 'Longitude', name: 'longitude', inputmode: 'decimal', placeholder: `e.g. ${DEMO_PIN.longitude}` }),
        ),
        field({ label: 'Place name (optional)', name: 'name', autocomplete: 'off' }),
        h('div', { class: 'row' }, h('button', { type: 'submit', class: 'secondary' }, 'Send location'), h('button', { type: 'button', class: 'secondary', 'data-pin': true }, 'Send my pin')),
        h('div', { class: 'form-alert' }),
      ),
    )
  )
  /** @param {string} name */
  const pinValue = (name) => /** @type {HTMLInputElement} */ (pinForm.elements.namedItem(name)).value.trim()
  pinForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const latitude = Number(pinValue('latitude').replace(',', '.'))
    const longitude = Number(pinValue('longitude').replace(',', '.'))
    if (pinValue('latitude') === '' || !(latitude >= -90 && latitude <= 90)) return showFormError(pinForm, { message: 'A latitude is a number from -90 to 90.', field: 'latitude' })
    if (pinValue('longitude') === '' || !(longitude >= -180 && longitude <= 180)) return showFormError(pinForm, { message: 'A longitude is a number from -180 to 180.', field: 'longitude' })
    const name = pinValue('name')
    await busy(pinForm.querySelector('button[type="submit"]'), async () => {
      if (await post(pinForm, () => api('POST', '/sandbox/location', { latitude, longitude, ...(name ? { name } : {}) }, { base }))) pinForm.reset()
    })
  })
  const pinButton = /** @type {HTMLButtonElement} */ (pinForm.querySelector('[data-pin]'))
  pinButton.addEventListener('click', () => busy(pinButton, () => post(pinForm, () => api('POST', '/sandbox/location', DEMO_PIN, { base }))))

  // Time: the sandbox's clock, which a person moves forward to see the 24-hour window close.
  const clockLine = h('p', {})
  const windowLine = h('p', { class: 'meta' })
  const clockNote = h('div', { role: 'status' })
  /** @param {SandboxClock} clock */
  const showClock = async (clock) => {
    await refreshGatewayClock(clock.offset_ms)
    const hours = Math.round(clock.offset_ms / 3_600_000)
    replace(clockLine, 'Sandbox time: ', timeEl(clock.now), hours > 0 ? ` (${hours} hours ahead of real time)` : ' (real time)')
    await showWindow()
  }
  /** The user's window, as the gateway's conversation says (a message of theirs opens it again). */
  const showWindow = async () => {
    const { items } = await listAll(`/api/channels/${channel.id}/conversations`)
    const conversation = items.find((/** @type {ConversationDto} */ c) => c.participant.phone === info.user.phone)
    if (conversation) replace(windowLine, 'Your conversation: ', windowWords(conversation))
    else replace(windowLine, 'No conversation yet: the window opens with your first message.')
  }
  await showClock(info.clock ?? { now: new Date().toISOString(), offset_ms: 0 })
  const advanceButton = h('button', { type: 'button', class: 'secondary small' }, 'Advance the clock 24 hours')
  advanceButton.addEventListener('click', () =>
    busy(advanceButton, async () => {
      try {
        /** @type {SandboxClock} */
        const clock = await api('POST', '/sandbox/clock/advance', { hours: 24 }, { base })
        await showClock(clock)
        const template = channel.out_of_window_template
        replace(
          clockNote,
          h(
            'div',
            { class: 'alert warn' },
            'A day went by: your 24-hour window has closed. ',
            template ? `A text the business sends you now goes out as the template ${template.name}` : 'A text the business sends you now is refused (outside_service_window)',
            ': try it from ',
            h('a', { href: `/console/conversations?channel=${channel.id}`, 'data-nav': true }, 'Conversations'),
            '. Writing here opens the window again.',
          ),
        )
        announce('The sandbox clock moved 24 hours ahead')
      } catch (error) {
        replace(clockNote, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
      }
    }),
  )

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
    h('div', { class: 'card' }, threadBox, tapNote, composer, h('div', { class: 'attach' }, fileForm, pinForm)),
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'flush' }, 'Who answers'),
      h(
        'p',
        {},
        `Bot “${bot.name}” (${bot.type}${bot.type === 'llm' ? `: ${bot.config.model ?? 'a model'} at ${bot.config.base_url ?? '?'}` : ''}). To try your own bot, add an http bot or a language model (llm) on the `,
        h('a', { href: '/console/bots', 'data-nav': true }, 'Bots'),
        ' page, then choose it for this channel on the ',
        h('a', { href: '/console/channels', 'data-nav': true }, 'Channels'),
        ' page.',
      ),
      bot.type === 'llm' && bot.config.reset_command
        ? h('p', {}, `The model sees the last ${bot.config.history_messages ?? 20} messages of this chat; send “${bot.config.reset_command}” to start over.`)
        : null,
      h(
        'p',
        {},
        'The sandbox’s demo bot answers “buttons”, “list”, “photo”, “location” and “link” with each kind of message, ',
        'reacts to a photo with 👍, and says what it got for a document, a pin or a tapped button.',
      ),
      h('h2', {}, 'See a failure'),
      h('div', { class: 'row' }, failButton),
      failNote,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'sandbox-time' },
      h('h2', { id: 'sandbox-time', class: 'flush' }, 'Time and the 24-hour window'),
      h(
        'p',
        {},
        'WhatsApp lets a business write freely for 24 hours after your last message; after that only approved templates go through. ',
        'The sandbox’s clock can jump ahead so you can see that without waiting a day.',
      ),
      clockLine,
      windowLine,
      h('div', { class: 'row' }, advanceButton),
      clockNote,
    ),
  )
  const windowTimer = setInterval(() => {
    if (document.visibilityState === 'visible') void showWindow().catch(() => {})
  }, 3000)
  return () => {
    clearInterval(windowTimer)
    clearInterval(waitTimer)
    thread?.stop()
  }
}
