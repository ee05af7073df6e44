// @ts-check
/**
 * Channels: connect a number to a bot, with the API's errors shown at the field they are about, then
 * exactly what to paste where at the provider, and whether a webhook has arrived yet. The API has no
 * "last webhook" field, so arrival is read from the channel's conversations: a conversation exists
 * only once a webhook with a message (or a message the team sent) was stored.
 */
import { api, listAll } from '../api.js'
import { announce, busy, clearFormErrors, copyButton, field, h, replace, showFieldErrors, showFormError, timeEl } from '../dom.js'
import { deleteInPlace, focusCard, renameInPlace } from '../card-actions.js'
import { loadTemplates, paramLabel, templateKey, templateTitle } from '../templates.js'
import { PROVIDER_TYPES } from './providers.js'

/**
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 * @typedef {import('../api.js').ProviderDto} ProviderDto
 * @typedef {import('../api.js').BotDto} BotDto
 * @typedef {import('../api.js').TemplateDto} TemplateDto
 */

/** Keywords as typed: split on commas or lines, trimmed, each once (any case). */
function keywords(/** @type {string} */ text) {
  /** @type {string[]} */
  const out = []
  for (const word of text.split(/[,\n]/).map((w) => w.trim())) {
    if (word !== '' && !out.some((w) => w.toLowerCase() === word.toLowerCase())) out.push(word)
  }
  return out
}

/**
 * Minutes after which a conversation a person took over goes back to the bot (null: never).
 * @param {ChannelDto} channel
 * @returns {number | null}
 */
function handoverTimeout(channel) {
  return channel.handover_timeout_minutes
}

/** The longest `retention_days` the API takes: ten years. */
const RETENTION_DAYS_MAX = 3650

/**
 * Days messages (and their media) are kept before the daily sweep erases them (null: kept for ever).
 * An answer without the field (a gateway from before it) counts as kept for ever.
 * @param {ChannelDto} channel
 * @returns {number | null}
 */
function retentionDays(channel) {
  return /** @type {number | null | undefined} */ (channel.retention_days) ?? null
}

/** The channel's settings in one line, for the closed settings panel. */
function settingsSummary(/** @type {ChannelDto} */ channel) {
  const template = channel.out_of_window_template
  const timeout = handoverTimeout(channel)
  const retention = retentionDays(channel)
  return [
    template ? `Closed window: texts go as ${template.name}${template.language ? ` (${template.language})` : ''}` : 'Closed window: texts are refused',
    `opt-out: ${channel.opt_out_keywords.join(', ') || 'none'}`,
    `opt-in: ${channel.opt_in_keywords.join(', ') || 'none'}`,
    timeout === null ? 'taken over: until given back' : `taken over: back to the bot after ${timeout} min`,
    retention === null ? null : `messages kept ${retention} ${retention === 1 ? 'day' : 'days'}`,
  ]
    .filter((part) => part !== null)
    .join(' · ')
}

/**
 * The channel's messaging settings: the template a text to a closed window goes out as (an approved
 * template of the provider with one parameter), the opt-out and opt-in keywords and replies, how long
 * a conversation a person took over stays theirs, how long messages are kept, and the typing indicator.
 * Only what changed is sent;
 * an emptied field goes as null (back to the default).
 * @param {ChannelDto} channel
 * @param {TemplateDto[] | null} templates  the provider's synced templates; null when it keeps none
 * @param {(saved: ChannelDto) => void} onSaved
 */
function settingsForm(channel, templates, onSaved) {
  const current = channel.out_of_window_template
  const fitting = (templates ?? []).filter((t) => t.status === 'APPROVED' && t.params.length === 1)
  const currentKey = current ? `${current.name}|${current.language ?? ''}` : ''
  const options = [{ value: '', label: 'None: a text to a closed window is refused' }, ...fitting.map((t) => ({ value: templateKey(t), label: `${templateTitle(t)}: the text fills ${paramLabel(t, t.params[0] ?? '1')}` }))]
  if (current && !fitting.some((t) => templateKey(t) === currentKey)) options.push({ value: currentKey, label: `${current.name}${current.language ? ` (${current.language})` : ''}: not an approved one-parameter template now` })
  const templateFields =
    templates !== null && templates.length > 0
      ? field({
          label: 'Out-of-window template',
          name: 'out_of_window_template',
          options,
          value: currentKey,
          hint: 'More than 24 hours after a person’s last message WhatsApp takes only templates: a text then goes out as this template, its one parameter filled with the text (in parts of at most 900 characters).',
        })
      : h(
          'div',
          { class: 'fields' },
          h('p', { class: 'meta' }, 'This provider keeps no template list here: type the template a text to a closed window goes out as, or leave the name empty.'),
          field({ label: 'Out-of-window template name', name: 'oow.name', value: current?.name ?? '' }),
          field({ label: 'Its language (optional)', name: 'oow.language', value: current?.language ?? '' }),
          field({ label: 'Its parameter’s name (named templates only)', name: 'oow.param', value: current?.param ?? '' }),
        )
  const typing = h(
    'div',
    { class: 'check' },
    h('input', { type: 'checkbox', id: `typing-${channel.id}`, name: 'typing_indicator', checked: channel.typing_indicator }),
    h('label', { for: `typing-${channel.id}` }, 'Mark messages read and show “typing…” while the bot works (Meta)'),
  )
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true, 'data-settings': channel.id },
      h('fieldset', { class: 'group' }, h('legend', {}, 'When the 24-hour window is closed'), templateFields),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'Opting out and back in'),
        field({
          label: 'Opt-out keywords',
          name: 'opt_out_keywords',
          value: channel.opt_out_keywords.join(', '),
          hint: 'A message that is exactly one of these (any case) opts the person out: no broadcasts or other messages they did not ask for. Separate with commas; empty restores STOP, UNSUBSCRIBE.',
        }),
        field({ label: 'Reply to an opt-out (optional)', name: 'opt_out_reply', value: channel.opt_out_reply ?? '', hint: 'E.g. “You will get no more messages. Send START to join again.”' }),
        field({ label: 'Opt-in keywords', name: 'opt_in_keywords', value: channel.opt_in_keywords.join(', '), hint: 'Empty restores START.' }),
        field({ label: 'Reply to an opt-in (optional)', name: 'opt_in_reply', value: channel.opt_in_reply ?? '' }),
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'When a person takes a conversation over'),
        field({
          label: 'Give it back to the bot after (minutes)',
          name: 'handover_timeout_minutes',
          type: 'number',
          inputmode: 'numeric',
          value: handoverTimeout(channel)?.toString() ?? '',
          attrs: { min: '1', max: '10080', step: '1' },
          hint: 'Counted from the takeover or the agent’s last message; 1 to 10080 (7 days). Empty: it stays with the person until someone gives it back.',
        }),
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'Keeping messages'),
        field({
          label: 'Delete messages older than (days)',
          name: 'retention_days',
          type: 'number',
          inputmode: 'numeric',
          value: retentionDays(channel)?.toString() ?? '',
          attrs: { min: '1', max: String(RETENTION_DAYS_MAX), step: '1' },
          hint: `1 to ${RETENTION_DAYS_MAX} (10 years). Once a day the gateway erases this channel’s older messages with their photos, audio and documents, for good. Empty: messages are kept for ever.`,
        }),
      ),
      typing,
      h('div', { class: 'form-alert' }),
      h('div', {}, h('button', { type: 'submit' }, 'Save settings')),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(form)
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name))?.value.trim() ?? ''
    /** @type {Record<string, unknown>} */
    const patch = {}
    /** @type {ChannelDto['out_of_window_template']} */
    let template = null
    if (templates !== null && templates.length > 0) {
      const key = value('out_of_window_template')
      const chosen = fitting.find((t) => templateKey(t) === key)
      if (chosen) template = { name: chosen.name, language: chosen.language, ...(chosen.parameter_format === 'NAMED' ? { param: chosen.params[0] } : {}) }
      else if (key !== '' && current) template = current
    } else if (value('oow.name') !== '') {
      template = { name: value('oow.name'), ...(value('oow.language') ? { language: value('oow.language') } : {}), ...(value('oow.param') ? { param: value('oow.param') } : {}) }
    }
    if (JSON.stringify(template) !== JSON.stringify(current)) patch.out_of_window_template = template
    for (const name of /** @type {const} */ (['opt_out_keywords', 'opt_in_keywords'])) {
      const words = keywords(value(name))
      if (words.join('\n') !== channel[name].join('\n')) patch[name] = words.length === 0 ? null : words
    }
    for (const name of /** @type {const} */ (['opt_out_reply', 'opt_in_reply'])) {
      if (value(name) !== (channel[name] ?? '')) patch[name] = value(name) === '' ? null : value(name)
    }
    const timeoutText = value('handover_timeout_minutes')
    const timeout = timeoutText === '' ? null : Number(timeoutText)
    /** @type {import('../dom.js').FieldProblem[]} */
    const problems = []
    if (timeout !== null && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 10_080)) {
      problems.push({ message: 'A whole number of minutes from 1 to 10080, or empty for never.', field: 'handover_timeout_minutes' })
    }
    const retentionText = value('retention_days')
    const retention = retentionText === '' ? null : Number(retentionText)
    if (retention !== null && !(Number.isInteger(retention) && retention >= 1 && retention <= RETENTION_DAYS_MAX)) {
      problems.push({ message: `A whole number of days from 1 to ${RETENTION_DAYS_MAX}, or empty to keep messages for ever.`, field: 'retention_days' })
    }
    if (templates === null || templates.length === 0) {
      if (value('oow.name') === '' && (value('oow.language') !== '' || value('oow.param') !== '')) problems.push({ message: 'Type the template’s name too, or empty the language and parameter.', field: 'oow.name' })
    }
    if (showFieldErrors(form, problems)) return
    if (timeout !== handoverTimeout(channel)) patch.handover_timeout_minutes = timeout
    if (retention !== retentionDays(channel)) patch.retention_days = retention
    const typingNow = /** @type {HTMLInputElement} */ (form.elements.namedItem('typing_indicator')).checked
    if (typingNow !== channel.typing_indicator) patch.typing_indicator = typingNow
    const alert = /** @type {HTMLElement} */ (form.querySelector('.form-alert'))
    if (Object.keys(patch).length === 0) {
      replace(alert, h('div', { class: 'alert ok', role: 'status' }, 'Nothing changed.'))
      return
    }
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        /** @type {ChannelDto} */
        const saved = await api('PATCH', `/api/channels/${channel.id}`, patch)
        onSaved(saved)
      } catch (error) {
        const apiError = /** @type {{ message: string, field?: string }} */ (error)
        const at = apiError.field ?? ''
        const mapped = at.startsWith('out_of_window_template') ? (templates !== null && templates.length > 0 ? 'out_of_window_template' : 'oow.name') : at.replace(/\[\d+\]$/, '')
        showFormError(form, { message: apiError.message, ...(mapped ? { field: mapped } : {}) })
      }
    })
  })
  return form
}

/** Longest offline message the API takes: one WhatsApp text message. */
const DISABLED_MESSAGE_MAX = 4096

/** How often the page looks again for a first webhook on channels that have none. */
const ARRIVAL_POLL_MS = 5000

/**
 * Where to paste the webhook URL (and the verify token), per provider type.
 * @param {ChannelDto} channel
 * @param {ProviderDto | undefined} provider
 */
function connectSteps(channel, provider) {
  const problem = webhookUrlProblem(channel)
  const url = h(
    'span',
    { class: 'webhook-url-box' },
    h('span', { class: 'copy-row' }, h('code', {}, channel.webhook_url), copyButton(channel.webhook_url, 'webhook URL')),
    problem ? h('span', { class: 'alert warn url-problem', 'data-webhook-url-problem': true }, h('strong', {}, 'This address may not work: '), problem) : null,
  )
  const type = provider?.type
  if (type === 'meta_cloud_api') {
    const verify = provider?.config.verify_token ?? '(not set)'
    return [
      h('li', {}, 'In the Meta App Dashboard of the app that owns this number, open ', h('strong', {}, 'WhatsApp → Configuration'), ' and edit the webhook.'),
      h('li', {}, h('strong', {}, 'Callback URL: '), url),
      h(
        'li',
        {},
        h('strong', {}, 'Verify token: '),
        `the verify token you chose for provider “${provider?.name}” (stored as `,
        h('code', {}, verify),
        '). Forgot it? Set a new one on the ',
        h('a', { href: '/console/providers', 'data-nav': true }, 'Providers'),
        ' page and paste that.',
      ),
      h('li', {}, 'Click ', h('strong', {}, 'Verify and save'), ', then subscribe to the ', h('code', {}, 'messages'), ' webhook field.'),
      h('li', {}, `Send a WhatsApp message to ${channel.number}: it shows up below and in Conversations.`),
    ]
  }
  if (type === 'twilio') {
    return [
      h('li', {}, 'In the Twilio Console open ', h('strong', {}, 'Messaging → Senders → WhatsApp senders'), ' and choose ', h('strong', {}, channel.number), '.'),
      h('li', {}, h('strong', {}, 'Webhook URL for incoming messages (method POST): '), url),
      h('li', {}, 'Leave the status callback URL empty: each reply names its own. Set PUBLIC_URL to the address Twilio reaches, or signatures and statuses fail.'),
    ]
  }
  if (type === 'turnio') {
    return [
      h('li', {}, 'In Turn.io open ', h('strong', {}, 'Settings → API & Webhooks'), ' and add a webhook for the whatsapp subscription (messages and statuses).'),
      h('li', {}, h('strong', {}, 'URL (this channel’s own): '), url),
      h('li', {}, 'Copy the webhook’s secret into the provider’s HMAC secret on the ', h('a', { href: '/console/providers', 'data-nav': true }, 'Providers'), ' page, so signatures are checked.'),
    ]
  }
  return [h('li', {}, h('strong', {}, 'Webhook URL: '), url)]
}

/**
 * Why the provider cannot call the channel's webhook URL (a sentence saying what to set), or null. An
 * answer without the field (a gateway from before it) counts as none known.
 * @param {ChannelDto} channel
 * @returns {string | null}
 */
function webhookUrlProblem(channel) {
  return /** @type {string | null | undefined} */ (channel.webhook_url_problem) || null
}

/**
 * What a disabled channel does with the messages that arrive, in words.
 * @param {ChannelDto} channel
 */
function offlineWords(channel) {
  return channel.disabled_message
    ? h('p', { class: 'alert warn offline', 'data-offline': true }, h('strong', {}, 'Disabled: '), 'the bot is not asked. The gateway answers everyone who writes with ', h('q', { class: 'offline-message' }, channel.disabled_message))
    : h('p', { class: 'alert warn offline', 'data-offline': true }, h('strong', {}, 'Disabled: '), 'messages that arrive are stored and nobody answers them.')
}

/**
 * The form that turns a channel off (with the message the gateway answers meanwhile), or, for a channel
 * already off, changes that message.
 * @param {ChannelDto} channel
 * @param {(patch: { enabled?: boolean, disabled_message: string | null }) => Promise<void>} onSave
 * @param {() => void} onCancel
 */
function offlineForm(channel, onSave, onCancel) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack offline-form', novalidate: true, hidden: true },
      field({
        label: 'Offline message (optional)',
        name: 'disabled_message',
        rows: 3,
        value: channel.disabled_message ?? '',
        hint: 'While the channel is off the bot is not asked: the gateway answers everyone who writes with this text. Empty: messages are stored and nobody answers.',
      }),
      h('div', { class: 'form-alert' }),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'submit' }, channel.enabled ? 'Disable channel' : 'Save offline message'),
        h('button', { type: 'button', class: 'quiet', onclick: onCancel }, 'Cancel'),
      ),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const text = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem('disabled_message')).value.trim()
    const problems = text.length > DISABLED_MESSAGE_MAX ? [{ field: 'disabled_message', message: `At most ${DISABLED_MESSAGE_MAX} characters (one WhatsApp message); this one has ${text.length}.` }] : []
    if (showFieldErrors(form, problems)) return
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        await onSave({ ...(channel.enabled ? { enabled: false } : {}), disabled_message: text === '' ? null : text })
      } catch (error) {
        showFormError(form, error)
      }
    })
  })
  return form
}

/**
 * "Has a webhook arrived?", from the channel's first conversation.
 * @param {ChannelDto} channel
 */
async function arrival(channel) {
  const answer = await api('GET', `/api/channels/${channel.id}/conversations?limit=1`)
  const first = answer.data[0]
  if (!first) return { arrived: false, node: h('p', { class: 'arrival' }, h('span', { class: 'badge warn' }, 'Waiting'), ` No webhook has arrived yet. Once the provider is set up, send a WhatsApp message to ${channel.number}.`) }
  return {
    arrived: true,
    node: h(
      'p',
      { class: 'arrival' },
      h('span', { class: 'badge ok' }, 'Receiving'),
      ' Webhooks have arrived: first conversation ',
      timeEl(first.created_at),
      '. ',
      h('a', { href: `/console/conversations?channel=${channel.id}`, 'data-nav': true }, 'See conversations'),
    ),
  }
}

/**
 * @param {ChannelDto} channel
 * @param {{ providers: Map<string, ProviderDto>, bots: BotDto[], open: boolean, watch: (channel: ChannelDto, slot: HTMLElement) => void,
 *   templates: (providerId: string) => Promise<TemplateDto[] | null>, note: string | null,
 *   onChanged: (channelId: string, note: string) => Promise<void>, onDeleted: (note: string) => Promise<void> }} options
 */
function channelCard(channel, options) {
  const provider = options.providers.get(channel.provider_id)
  const path = `/api/channels/${encodeURIComponent(channel.id)}`
  const note = h('div', { role: 'status' }, options.note ? h('div', { class: 'alert ok' }, options.note) : null)
  const fail = (/** @type {unknown} */ error) => replace(note, h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message))

  const rename = renameInPlace({
    current: channel.name,
    what: 'the channel',
    onSave: async (name) => {
      await api('PATCH', path, { name })
      await options.onChanged(channel.id, `Renamed to “${name}”.`)
    },
  })

  // Off and on: turning off asks for the offline message first; turning on is one click.
  const offButton = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false' }, channel.enabled ? 'Disable…' : 'Offline message…')
  const showOffline = (/** @type {boolean} */ open) => {
    offline.hidden = !open
    offButton.setAttribute('aria-expanded', String(open))
    if (open) /** @type {HTMLElement | null} */ (offline.querySelector('textarea'))?.focus()
  }
  const offline = offlineForm(
    channel,
    async (patch) => {
      await api('PATCH', path, patch)
      await options.onChanged(
        channel.id,
        patch.enabled === false ? `Disabled: the bot is no longer asked${patch.disabled_message ? '; the gateway answers with the offline message' : ''}.` : 'Offline message saved.',
      )
    },
    () => {
      showOffline(false)
      offButton.focus()
    },
  )
  offButton.addEventListener('click', () => showOffline(offline.hidden))
  const onButton = channel.enabled ? null : h('button', { type: 'button', class: 'small' }, 'Enable')
  onButton?.addEventListener('click', () =>
    busy(onButton, async () => {
      try {
        await api('PATCH', path, { enabled: true })
        await options.onChanged(channel.id, 'Enabled: the bot answers again.')
      } catch (error) {
        fail(error)
      }
    }),
  )

  const remove = deleteInPlace({
    question: `Delete channel ${channel.name} (${channel.number})? Messages to ${channel.number} are no longer received, and its conversations and messages are deleted with it. The provider keeps the number: you can connect it again later.`,
    confirm: 'Delete channel',
    onDelete: async () => {
      await api('DELETE', path)
      await options.onDeleted(`Deleted channel ${channel.name} (${channel.number}).`)
    },
  })
  const arrivalSlot = h('div', {}, h('p', { class: 'meta' }, 'Checking for webhooks…'))
  options.watch(channel, arrivalSlot)

  const botForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'row row-end', novalidate: true },
      field({ label: 'Answered by', name: 'bot_id', value: channel.bot_id, options: options.bots.map((b) => ({ value: b.id, label: `${b.name} (${b.type})` })) }),
      h('button', { type: 'submit', class: 'secondary small' }, 'Change bot'),
      h('div', { class: 'form-alert' }),
    )
  )
  botForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(botForm)
    const botId = /** @type {HTMLSelectElement} */ (botForm.elements.namedItem('bot_id')).value
    await busy(botForm.querySelector('button'), async () => {
      try {
        await api('PATCH', `/api/channels/${channel.id}`, { bot_id: botId })
        const bot = options.bots.find((b) => b.id === botId)
        replace(/** @type {HTMLElement} */ (botForm.querySelector('.form-alert')), h('div', { class: 'alert ok', role: 'status' }, `Messages to ${channel.number} now go to ${bot?.name ?? botId}.`))
      } catch (error) {
        showFormError(botForm, error)
      }
    })
  })

  const summary = h('span', { class: 'meta settings-summary' }, settingsSummary(channel))
  const settingsBox = h('div', {}, h('p', { class: 'meta' }, 'Loading the provider’s templates…'))
  const settings = h('details', { class: 'settings' }, h('summary', {}, 'Messaging settings: closed window, opt-out, handover, keeping messages'), summary, settingsBox)
  let drawn = false
  /** @param {ChannelDto} current */
  const drawSettings = async (current) => {
    const templates = await options.templates(current.provider_id)
    replace(
      settingsBox,
      settingsForm(current, templates, (saved) => {
        summary.textContent = settingsSummary(saved)
        void drawSettings(saved).then(() => {
          const alert = settingsBox.querySelector('.form-alert')
          if (alert) replace(alert, h('div', { class: 'alert ok', role: 'status' }, `Settings of ${saved.name} saved.`))
          announce(`Settings of ${saved.name} saved`)
        })
      }),
    )
  }
  settings.addEventListener('toggle', () => {
    if (!(/** @type {HTMLDetailsElement} */ (settings).open) || drawn) return
    drawn = true
    void drawSettings(channel)
  })

  const headingId = `connect-${channel.id}`
  return h(
    'li',
    { class: `card${channel.enabled ? '' : ' disabled'}`, 'data-channel': channel.id, 'data-enabled': String(channel.enabled) },
    h('div', { class: 'card-head' }, h('h3', {}, channel.name), h('span', { class: `badge ${channel.enabled ? 'ok' : 'warn'}` }, channel.enabled ? 'Enabled' : 'Disabled')),
    h(
      'p',
      { class: 'meta' },
      h('span', { class: 'mono' }, channel.number),
      ' · ',
      provider ? `${provider.name} (${PROVIDER_TYPES[provider.type]?.label ?? provider.type})` : channel.provider_id,
      ' · ',
      h('code', {}, channel.id),
    ),
    channel.enabled ? null : offlineWords(channel),
    h('div', { class: 'row card-actions' }, onButton, offButton, rename.button, remove.button),
    rename.form,
    offline,
    remove.box,
    note,
    arrivalSlot,
    h(
      'details',
      // A webhook URL that may not work opens the steps, so its warning is seen.
      { open: options.open || webhookUrlProblem(channel) !== null },
      h('summary', { id: headingId }, `Connect ${channel.number} at ${provider ? (PROVIDER_TYPES[provider.type]?.label ?? provider.type) : 'the provider'}`),
      h('ol', { class: 'steps' }, connectSteps(channel, provider)),
    ),
    botForm,
    settings,
  )
}

/**
 * @param {ProviderDto[]} providers
 * @param {BotDto[]} bots
 * @param {(channel: ChannelDto) => void} onCreated
 */
function createForm(providers, bots, onCreated) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      field({ label: 'Provider', name: 'provider_id', options: providers.map((p) => ({ value: p.id, label: `${p.name} (${PROVIDER_TYPES[p.type]?.label ?? p.type})` })) }),
      field({ label: 'Bot', name: 'bot_id', options: bots.map((b) => ({ value: b.id, label: `${b.name} (${b.type})` })) }),
      field({
        label: 'WhatsApp number',
        name: 'number',
        type: 'tel',
        required: true,
        autocomplete: 'off',
        hint: 'With the country code, e.g. +27 81 234 5678 or +1 (212) 555-2368. The gateway checks the provider has it.',
      }),
      field({ label: 'Name (optional)', name: 'name', hint: 'Defaults to the number.' }),
      h('div', { class: 'form-alert' }),
      h('div', {}, h('button', { type: 'submit' }, 'Connect number')),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(form)
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim()
    /** @type {Record<string, string>} */
    const body = { provider_id: value('provider_id'), bot_id: value('bot_id'), number: value('number') }
    if (value('name') !== '') body.name = value('name')
    /** @type {import('../dom.js').FieldProblem[]} */
    const problems = []
    if (body.number === '') problems.push({ message: 'Type the WhatsApp number to connect.', field: 'number' })
    if (!body.provider_id) problems.push({ message: 'Choose the provider that has this number.', field: 'provider_id' })
    if (!body.bot_id) problems.push({ message: 'Choose the bot that answers.', field: 'bot_id' })
    if (showFieldErrors(form, problems)) return
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        onCreated(await api('POST', '/api/channels', body))
      } catch (error) {
        showFormError(form, error)
      }
    })
  })
  return form
}

/** @param {import('../main.js').PageContext} context */
export async function renderChannels({ main }) {
  const [providers, bots] = await Promise.all([listAll('/api/providers'), listAll('/api/bots')])
  const providerMap = new Map(providers.items.map((/** @type {ProviderDto} */ p) => [p.id, p]))
  const listBox = h('ul', { class: 'list', 'aria-label': 'Channels' })
  const notice = h('div', { role: 'status' })

  /** Each provider's templates, read once per page (null when the provider keeps no list). @type {Map<string, Promise<TemplateDto[] | null>>} */
  const templateCache = new Map()
  /** @param {string} providerId */
  const templatesOf = (providerId) => {
    let found = templateCache.get(providerId)
    if (!found) {
      const type = providerMap.get(providerId)?.type
      found = type === 'turnio' ? Promise.resolve(null) : loadTemplates(providerId).catch(() => /** @type {TemplateDto[]} */ ([]))
      templateCache.set(providerId, found)
    }
    return found
  }

  /** Channels still waiting for their first webhook, re-checked on a timer. @type {Map<string, { channel: ChannelDto, slot: HTMLElement }>} */
  const waiting = new Map()
  /** @type {(channel: ChannelDto, slot: HTMLElement) => void} */
  const watch = (channel, slot) => {
    waiting.set(channel.id, { channel, slot })
  }
  const checkArrivals = async () => {
    for (const [id, { channel, slot }] of waiting) {
      try {
        const result = await arrival(channel)
        replace(slot, result.node)
        if (result.arrived) waiting.delete(id)
      } catch (error) {
        replace(slot, h('p', { class: 'meta' }, /** @type {Error} */ (error).message))
      }
    }
  }

  /** A change made on a card: the card is drawn again with this note, and keeps the keyboard's place. */
  const changed = async (/** @type {string} */ channelId, /** @type {string} */ note) => {
    await load(null, { id: channelId, note })
    announce(note)
    focusCard(listBox, `[data-channel="${CSS.escape(channelId)}"]`)
  }
  const deleted = async (/** @type {string} */ note) => {
    replace(notice, h('div', { class: 'alert ok' }, note))
    announce(note)
    await load(null)
    notice.scrollIntoView({ block: 'nearest' })
  }

  /**
   * @param {string | null} openId
   * @param {{ id: string, note: string } | null} [flash]  a note for one card, after a change made on it
   */
  const load = async (openId, flash = null) => {
    waiting.clear()
    const { items } = await listAll('/api/channels')
    if (items.length === 0) replace(listBox, h('li', { class: 'empty' }, 'No channels yet.'))
    else {
      replace(
        listBox,
        items.map((/** @type {ChannelDto} */ c) =>
          channelCard(c, {
            providers: providerMap,
            bots: bots.items,
            open: c.id === openId || items.length === 1,
            watch,
            templates: templatesOf,
            note: flash?.id === c.id ? flash.note : null,
            onChanged: changed,
            onDeleted: deleted,
          }),
        ),
      )
    }
    await checkArrivals()
  }

  const createBox = h('div', { class: 'card' })
  if (providers.items.length === 0 || bots.items.length === 0) {
    replace(
      createBox,
      h(
        'p',
        {},
        'A channel needs a provider and a bot. ',
        providers.items.length === 0 ? h('a', { href: '/console/providers', 'data-nav': true }, 'Add a provider') : null,
        providers.items.length === 0 && bots.items.length === 0 ? ' and ' : null,
        bots.items.length === 0 ? h('a', { href: '/console/bots', 'data-nav': true }, 'add a bot') : null,
        ' first.',
      ),
    )
  } else {
    const resetCreate = () =>
      replace(
        createBox,
        createForm(providers.items, bots.items, async (channel) => {
          replace(notice, h('div', { class: 'alert ok' }, `${channel.number} is connected. Now tell the provider where to send its webhooks: see “Connect ${channel.number}” below.`))
          announce(`${channel.number} connected`)
          resetCreate()
          await load(channel.id)
          const summary = /** @type {HTMLElement | null} */ (document.getElementById(`connect-${channel.id}`))
          summary?.scrollIntoView({ block: 'center' })
          summary?.focus()
        }),
      )
    resetCreate()
  }

  await load(null)
  replace(
    main,
    h('h1', {}, 'Channels'),
    h('p', { class: 'lead' }, 'Each channel is one WhatsApp number of a provider, answered by one bot.'),
    notice,
    listBox,
    h('h2', {}, 'Connect a number'),
    createBox,
  )
  const timer = setInterval(() => {
    if (waiting.size > 0 && document.visibilityState === 'visible') void checkArrivals()
  }, ARRIVAL_POLL_MS)
  return () => clearInterval(timer)
}
