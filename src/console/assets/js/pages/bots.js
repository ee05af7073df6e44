// @ts-check
/**
 * Bots: `echo` (answers with what it got; for trying things), `http` (your service) and `llm` (a
 * language model behind any OpenAI-compatible API: OpenAI, Ollama, vLLM, llama.cpp, LM Studio). Secrets
 * (the http bot's signing secret, the model's API keys) are masked by the API; on edit a secret field
 * starts empty, and left empty it sends the masked value back, which keeps the stored secret.
 *
 * Every bot shows its health in words, refreshed while the page is open, and has a Test box that sends
 * one message to the bot (not to WhatsApp) and shows what it answered, or why it could not.
 */
import { api, blobUrl, listAll } from '../api.js'
import { deleteInPlace, focusCard, inUseExplanation } from '../card-actions.js'
import { announce, busy, field, h, replace, showFieldErrors, showFormError, timeEl } from '../dom.js'
import { messageBody } from '../message-body.js'

/**
 * @typedef {import('../api.js').BotDto} BotDto
 * @typedef {import('../api.js').MessageDto} MessageDto
 * @typedef {NonNullable<MessageDto['message']>} OutboundDto
 * @typedef {{ base_url?: string, api_key?: string, model?: string }} TranscriptionConfig
 * @typedef {TranscriptionConfig & { voice?: string, mode?: string }} SpeechConfig
 * @typedef {{ base_url?: string, api_key?: string, model?: string, system_prompt?: string, temperature?: number | null,
 *   max_tokens?: number | null, max_tokens_field?: string, history_messages?: number, vision?: boolean, reset_command?: string,
 *   reset_reply?: string, timeout_ms?: number, transcription?: TranscriptionConfig | null, speech?: SpeechConfig | null,
 *   url?: string, secret?: string }} BotConfig
 */

const TYPE_LABELS = /** @type {Record<string, string>} */ ({
  echo: 'Echo (replies with the same text)',
  http: 'HTTP (your own service)',
  llm: 'Language model (OpenAI-compatible API)',
})

/** What a new llm bot starts with (the API's defaults, shown so a person sees them). */
const LLM_DEFAULTS = {
  system_prompt: 'You are a helpful assistant answering on WhatsApp. Keep answers short and in plain text.',
  history_messages: '20',
  reset_command: '/reset',
  reset_reply: 'Conversation reset.',
  timeout_ms: '60000',
}

const SPEECH_MODES = [
  { value: 'reciprocal', label: 'When the user sent a voice note' },
  { value: 'always', label: 'Always' },
  { value: 'never', label: 'Never' },
]

/** A bot's health in words a person can act on; the API's `message` says what was seen. */
const HEALTH_WORDS = /** @type {Record<string, string>} */ ({
  unreachable: "Can't be reached",
  auth_failed: 'Key refused',
  quota_exhausted: 'Quota used up',
  bad_response: "Answers we can't read",
})

/** How often the health lines are read again while the page is open. */
const HEALTH_POLL_MS = 3000

/** The config of a bot, whatever its type (the API's shapes differ by type). */
function configOf(/** @type {BotDto} */ bot) {
  return /** @type {BotConfig} */ (/** @type {unknown} */ (bot.config))
}

/** A random signing secret, so nobody has to invent one. */
function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A stored value as a field's text ('' for none). */
function text(/** @type {unknown} */ value) {
  return value === undefined || value === null ? '' : String(value)
}

/**
 * A secret field: on create a hint, on edit the masked value stored and how to keep it.
 * @param {{ label: string, name: string, hint: string, stored: string | undefined, editing: boolean, required?: boolean }} spec
 */
function secretField(spec) {
  return field({
    label: spec.label,
    name: spec.name,
    type: 'password',
    autocomplete: 'new-password',
    required: spec.required === true && !spec.editing,
    hint: spec.editing && spec.stored ? `${spec.hint} Stored: ${spec.stored}. Leave empty to keep it.` : spec.editing ? `${spec.hint} None stored.` : spec.hint,
  })
}

/** A number field (text with a numeric keyboard, so a typo reaches the API and gets its sentence). */
function numberField(/** @type {{ label: string, name: string, value: string, hint: string, decimal?: boolean }} */ spec) {
  return field({ label: spec.label, name: spec.name, value: spec.value, hint: spec.hint, inputmode: spec.decimal ? 'decimal' : 'numeric' })
}

/**
 * The http bot's fields.
 * @param {BotDto | null} current
 * @param {() => HTMLFormElement} formOf
 */
function httpFields(current, formOf) {
  const config = current ? configOf(current) : {}
  const generate = h('button', { type: 'button', class: 'secondary small' }, 'Generate a secret')
  generate.addEventListener('click', () => {
    const input = /** @type {HTMLInputElement} */ (formOf().elements.namedItem('config.secret'))
    input.type = 'text'
    input.value = randomSecret()
    input.focus()
    input.select()
    announce('A new secret was generated; copy it into your bot too')
  })
  return [
    field({
      label: 'URL',
      name: 'config.url',
      type: 'url',
      value: config.url ?? '',
      required: true,
      hint: current && config.url?.includes('••••@')
        ? 'Switchboard POSTs each incoming message here. The password in it is hidden (••••): leave it so to keep it, or type the whole URL to change it.'
        : 'Switchboard POSTs each incoming message here and sends the "replies" it answers with.',
    }),
    field({
      label: 'Signing secret',
      name: 'config.secret',
      type: 'password',
      autocomplete: 'new-password',
      required: !current,
      hint: current
        ? `Stored: ${config.secret ?? 'none'}. Leave empty to keep it.`
        : 'At least 16 characters. Switchboard signs every request with it (X-Switchboard-Signature); your bot checks it.',
    }),
    h('div', {}, generate),
  ]
}

/**
 * The llm bot's fields: the model, the conversation rules, and voice in a section of its own.
 * @param {BotDto | null} current
 */
function llmFields(current) {
  const config = current ? configOf(current) : {}
  const editing = current !== null
  const transcription = config.transcription ?? {}
  const speech = config.speech ?? {}
  const defaults = editing ? { system_prompt: '', history_messages: '', reset_command: '', reset_reply: '', timeout_ms: '' } : LLM_DEFAULTS
  const voiceOn = Boolean(transcription.model || speech.model)
  return [
    field({
      label: 'Base URL',
      name: 'config.base_url',
      type: 'url',
      value: config.base_url ?? '',
      required: true,
      placeholder: 'https://api.openai.com/v1',
      hint: 'The API’s address up to and including /v1: https://api.openai.com/v1, or http://localhost:11434/v1 for Ollama on this machine.',
    }),
    field({ label: 'Model', name: 'config.model', value: config.model ?? '', required: true, hint: 'As the server names it: gpt-4o-mini, llama3.2, …' }),
    secretField({
      label: 'API key (optional)',
      name: 'config.api_key',
      stored: config.api_key,
      editing,
      hint: 'Sent as a bearer token; stored encrypted and only ever shown masked. Local servers (Ollama, llama.cpp) need none.',
    }),
    field({
      label: 'System prompt',
      name: 'config.system_prompt',
      rows: 5,
      value: config.system_prompt ?? defaults.system_prompt,
      hint: 'What the model is told before every conversation: who it is, what it may help with, how it answers.',
    }),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Conversation'),
      numberField({
        label: 'History length',
        name: 'config.history_messages',
        value: text(config.history_messages ?? defaults.history_messages),
        hint: 'How many earlier messages of the conversation (since its last reset) the model sees with each new one: 0 to 200.',
      }),
      h(
        'div',
        { class: 'check' },
        h('input', { type: 'checkbox', id: `vision-${current?.id ?? 'new'}`, name: 'config.vision', checked: config.vision === true }),
        h('label', { for: `vision-${current?.id ?? 'new'}` }, 'Show the model the pictures users send (the model must accept images)'),
      ),
      field({ label: 'Reset command', name: 'config.reset_command', value: config.reset_command ?? defaults.reset_command, hint: 'A user who sends exactly this starts over: the model forgets the conversation so far. Empty: no reset command.' }),
      field({ label: 'Reset reply', name: 'config.reset_reply', value: config.reset_reply ?? defaults.reset_reply, hint: 'What the user is told after a reset.' }),
    ),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Model settings'),
      numberField({ label: 'Temperature (optional)', name: 'config.temperature', value: text(config.temperature), decimal: true, hint: '0 to 2; lower answers are steadier. Empty: the server’s default.' }),
      numberField({ label: 'Max tokens (optional)', name: 'config.max_tokens', value: text(config.max_tokens), hint: 'The longest answer, in tokens. Empty: no limit of ours.' }),
      field({
        label: 'Send the limit as',
        name: 'config.max_tokens_field',
        value: config.max_tokens_field ?? 'max_tokens',
        options: [
          { value: 'max_tokens', label: 'max_tokens (Ollama, vLLM, llama.cpp, LM Studio)' },
          { value: 'max_completion_tokens', label: 'max_completion_tokens (newer OpenAI models)' },
        ],
      }),
      numberField({ label: 'Timeout (ms)', name: 'config.timeout_ms', value: text(config.timeout_ms ?? defaults.timeout_ms), hint: 'How long to wait for an answer before trying again; 60000 is a minute.' }),
    ),
    h(
      'details',
      { class: 'voice', open: voiceOn },
      h('summary', {}, 'Voice notes (optional)'),
      h(
        'div',
        { class: 'fields' },
        h('p', { class: 'meta flush' }, 'An empty base URL means the model’s server above, with its key; a server of its own takes its own key. Every voice note sent is a WhatsApp message like any other.'),
        h(
          'fieldset',
          { class: 'group' },
          h('legend', {}, 'Transcribe the voice notes users send'),
          field({ label: 'Transcription model', name: 'config.transcription.model', value: transcription.model ?? '', hint: 'e.g. whisper-1. Empty: voice notes are not transcribed.' }),
          field({ label: 'Transcription base URL', name: 'config.transcription.base_url', type: 'url', value: transcription.base_url ?? '' }),
          secretField({ label: 'Transcription API key', name: 'config.transcription.api_key', stored: transcription.api_key, editing: editing && transcription.model !== undefined, hint: 'Empty: the model’s key (or none, for a server of its own).' }),
        ),
        h(
          'fieldset',
          { class: 'group' },
          h('legend', {}, 'Speak the replies'),
          field({ label: 'Speech model', name: 'config.speech.model', value: speech.model ?? '', hint: 'e.g. tts-1. Empty: replies are text only.' }),
          field({ label: 'Voice', name: 'config.speech.voice', value: speech.voice ?? '', hint: 'As the server names it, e.g. alloy.' }),
          field({ label: 'Speak', name: 'config.speech.mode', value: speech.mode ?? 'reciprocal', options: SPEECH_MODES }),
          field({ label: 'Speech base URL', name: 'config.speech.base_url', type: 'url', value: speech.base_url ?? '' }),
          secretField({ label: 'Speech API key', name: 'config.speech.api_key', stored: speech.api_key, editing: editing && speech.model !== undefined, hint: 'Empty: the model’s key (or none, for a server of its own).' }),
        ),
      ),
    ),
  ]
}

/** A typed number as a number; anything else as typed, so the API names the problem. */
function asNumber(/** @type {string} */ typed) {
  const number = Number(typed)
  return typed !== '' && Number.isFinite(number) ? number : typed
}

/**
 * The llm bot's config from the form. Left-empty secrets of a stored bot go back masked (the API keeps
 * the stored key); emptied optional values go as null on edit (the API drops them: the default applies)
 * and are left out on create.
 * @param {(name: string) => string} value
 * @param {HTMLFormElement} form
 * @param {BotDto | null} current
 */
function llmConfig(value, form, current) {
  const stored = current ? configOf(current) : null
  /** @type {Record<string, unknown>} */
  const config = { base_url: value('config.base_url'), model: value('config.model'), system_prompt: value('config.system_prompt') }
  const secret = (/** @type {string} */ name, /** @type {string | undefined} */ storedValue, /** @type {Record<string, unknown>} */ into, /** @type {string} */ key) => {
    const typed = value(name)
    if (typed !== '') into[key] = typed
    else if (storedValue !== undefined) into[key] = storedValue
  }
  secret('config.api_key', stored?.api_key, config, 'api_key')
  /** @param {string} key */
  const optional = (key, /** @type {unknown} */ typed) => {
    if (typed !== '') config[key] = typed
    else if (stored && stored[/** @type {keyof BotConfig} */ (key)] !== undefined && stored[/** @type {keyof BotConfig} */ (key)] !== null) config[key] = null
  }
  optional('temperature', asNumber(value('config.temperature')))
  optional('max_tokens', asNumber(value('config.max_tokens')))
  config.max_tokens_field = value('config.max_tokens_field')
  optional('history_messages', asNumber(value('config.history_messages')))
  config.vision = /** @type {HTMLInputElement} */ (form.elements.namedItem('config.vision')).checked
  // Sent as typed: an empty reset command turns the command off.
  config.reset_command = value('config.reset_command')
  config.reset_reply = value('config.reset_reply')
  optional('timeout_ms', asNumber(value('config.timeout_ms')))

  const transcriptionModel = value('config.transcription.model')
  if (transcriptionModel !== '') {
    /** @type {Record<string, unknown>} */
    const transcription = { model: transcriptionModel }
    if (value('config.transcription.base_url') !== '') transcription.base_url = value('config.transcription.base_url')
    secret('config.transcription.api_key', stored?.transcription?.api_key, transcription, 'api_key')
    config.transcription = transcription
  } else if (stored?.transcription) config.transcription = null

  const speechModel = value('config.speech.model')
  if (speechModel !== '' || value('config.speech.voice') !== '') {
    /** @type {Record<string, unknown>} */
    const speech = { model: speechModel, voice: value('config.speech.voice'), mode: value('config.speech.mode') }
    if (value('config.speech.base_url') !== '') speech.base_url = value('config.speech.base_url')
    secret('config.speech.api_key', stored?.speech?.api_key, speech, 'api_key')
    config.speech = speech
  } else if (stored?.speech) config.speech = null
  return config
}

/**
 * A typed number checked against the API's bounds; the problem in words, or null when it fits (or is
 * empty and may be).
 * @param {string} typed
 * @param {{ min: number, max: number, whole?: boolean, optional?: boolean }} bounds
 */
function numberProblem(typed, bounds) {
  if (typed === '') return bounds.optional ? null : `A number from ${bounds.min} to ${bounds.max}.`
  const number = Number(typed)
  const words = `${bounds.whole ? 'A whole number' : 'A number'} from ${bounds.min.toLocaleString('en')} to ${bounds.max.toLocaleString('en')}${bounds.optional ? ', or empty' : ''}.`
  if (!Number.isFinite(number) || (bounds.whole && !Number.isInteger(number))) return `“${typed}” is not ${bounds.whole ? 'a whole number' : 'a number'}. ${words}`
  return number < bounds.min || number > bounds.max ? words : null
}

/**
 * Client-side checks of the bot form: every empty required field and every number out of the API's
 * bounds, found at once (the API would name only the first).
 * @param {(name: string) => string} value
 * @param {string} type
 * @param {BotDto | null} current
 */
function botProblems(value, type, current) {
  /** @type {import('../dom.js').FieldProblem[]} */
  const problems = []
  const need = (/** @type {string} */ field, /** @type {string} */ message) => {
    if (value(field) === '') problems.push({ field, message })
  }
  need('name', 'Give the bot a name: it is how channels and the console list it.')
  if (type === 'http') {
    need('config.url', 'Type the URL of your service: Switchboard POSTs each message there.')
    if (!current) need('config.secret', 'A signing secret is needed: type one of at least 16 characters, or use Generate a secret.')
  }
  if (type === 'llm') {
    need('config.base_url', 'Type the API’s address, e.g. https://api.openai.com/v1 or http://localhost:11434/v1.')
    need('config.model', 'Type the model’s name as the server names it, e.g. gpt-4o-mini or llama3.2.')
    /** @type {Array<[string, { min: number, max: number, whole?: boolean, optional?: boolean }]>} */
    const numbers = [
      ['config.history_messages', { min: 0, max: 200, whole: true, optional: true }],
      ['config.temperature', { min: 0, max: 2, optional: true }],
      ['config.max_tokens', { min: 1, max: 1_000_000, whole: true, optional: true }],
      ['config.timeout_ms', { min: 1000, max: 600_000, whole: true, optional: true }],
    ]
    for (const [field, bounds] of numbers) {
      const problem = numberProblem(value(field), bounds)
      if (problem) problems.push({ field, message: problem })
    }
  }
  return problems
}

/**
 * The create form (current = null) or the edit form of a bot.
 * @param {BotDto | null} current
 * @param {(bot: BotDto) => void} onSaved
 */
function botForm(current, onSaved) {
  const typeBox = h('div', { class: 'fields' })
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      current
        ? h('p', {}, h('strong', {}, 'Type: '), TYPE_LABELS[current.type] ?? current.type)
        : field({ label: 'Type', name: 'type', value: 'echo', options: Object.entries(TYPE_LABELS).map(([value, label]) => ({ value, label })) }),
      field({ label: 'Name', name: 'name', value: current?.name ?? '', required: true }),
      typeBox,
      h('div', { class: 'form-alert' }),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, current ? 'Save changes' : 'Add bot')),
    )
  )
  const typeOf = () => current?.type ?? /** @type {HTMLSelectElement} */ (form.elements.namedItem('type')).value
  const showType = () => {
    const type = typeOf()
    if (type === 'http') replace(typeBox, httpFields(current, () => form))
    else if (type === 'llm') replace(typeBox, llmFields(current))
    else typeBox.replaceChildren()
  }
  showType()
  form.querySelector('select[name=type]')?.addEventListener('change', showType)

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name))?.value.trim() ?? ''
    const type = typeOf()
    if (showFieldErrors(form, botProblems(value, type, current))) return
    /** @type {Record<string, unknown>} */
    const body = { name: value('name') }
    if (type === 'http') {
      /** @type {Record<string, string>} */
      const config = { url: value('config.url') }
      if (value('config.secret') !== '') config.secret = value('config.secret')
      body.config = config
    } else if (type === 'llm') {
      body.config = llmConfig(value, form, current)
    }
    if (!current) body.type = type
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        onSaved(current ? await api('PATCH', `/api/bots/${current.id}`, body) : await api('POST', '/api/bots', body))
      } catch (error) {
        showFormError(form, error)
      }
    })
  })
  return form
}

/**
 * A bot's health in words, with when it was last seen.
 * @param {BotDto} bot
 */
export function healthLine(bot) {
  const health = bot.health ?? { status: 'ok', message: null, last_seen_at: null }
  const ok = health.status === 'ok'
  const words = HEALTH_WORDS[health.status] ?? `Problem (${health.status.replace(/_/g, ' ')})`
  // Nothing seen yet is no claim of health.
  if (ok && !health.last_seen_at) return h('p', { class: 'health', 'data-health': 'unknown' }, h('span', { class: 'badge' }, 'Not called yet'), ' ', h('span', { class: 'meta' }, 'Its health shows after its first call.'))
  return h(
    'p',
    { class: 'health', 'data-health': health.status },
    h('span', { class: `badge ${ok ? 'ok' : 'bad'}` }, ok ? 'Healthy' : 'Needs attention'),
    ' ',
    ok ? null : [h('strong', {}, `${words}: `), health.message ?? 'no detail was given.'],
    ' ',
    h('span', { class: 'meta' }, 'Last seen ', timeEl(health.last_seen_at), '.'),
  )
}

/** What a bot does, in a line or two. */
function summaryOf(/** @type {BotDto} */ bot) {
  const config = configOf(bot)
  if (bot.type === 'http') return h('p', {}, 'Calls ', h('code', {}, config.url ?? ''), ', signed with ', h('code', {}, config.secret ?? ''))
  if (bot.type !== 'llm') return null
  const voice = []
  if (config.transcription?.model) voice.push(`transcribes voice notes with ${config.transcription.model}`)
  if (config.speech?.model && config.speech.mode !== 'never') {
    voice.push(`speaks its replies with ${config.speech.model} (voice ${config.speech.voice ?? 'default'}) ${config.speech.mode === 'always' ? 'always' : 'to users who sent a voice note'}`)
  }
  return h(
    'div',
    {},
    h('p', { class: 'flush' }, 'Asks ', h('code', {}, config.model ?? ''), ' at ', h('code', {}, config.base_url ?? ''), config.api_key ? [' with the key ', h('code', {}, config.api_key)] : ' without a key', '.'),
    h('p', { class: 'meta' }, `Remembers the last ${config.history_messages ?? 20} messages; “${config.reset_command ?? '/reset'}” starts over${config.vision ? '; sees pictures' : ''}${voice.length > 0 ? `; ${voice.join('; ')}` : ''}.`),
    config.system_prompt ? h('details', {}, h('summary', {}, 'System prompt'), h('p', { class: 'prompt' }, config.system_prompt)) : null,
  )
}

/**
 * Media a test reply names by gateway media id (a spoken answer), read with the token.
 * @param {MessageDto} message
 * @returns {Promise<string | null>}
 */
function testMedia(message) {
  const sent = message.message
  const id = sent && 'media_id' in sent ? sent.media_id : undefined
  return id ? blobUrl(`/api/media/${encodeURIComponent(id)}`).catch(() => null) : Promise.resolve(null)
}

/**
 * A bubble of the test conversation, drawn as the Conversations page draws it.
 * @param {BotDto} bot
 * @param {'in' | 'out'} direction
 * @param {OutboundDto} sent
 * @param {number} index
 */
function testBubble(bot, direction, sent, index) {
  const now = new Date().toISOString()
  /** @type {MessageDto} */
  const message = {
    id: `test-${direction}-${index}`,
    conversation_id: 'test',
    direction,
    type: sent.type,
    text: sent.type === 'text' ? sent.text : null,
    status: direction === 'out' ? 'sent' : 'processed',
    provider_message_id: null,
    error: null,
    reply_to_id: null,
    author: direction === 'out' ? 'bot' : 'participant',
    created_at: now,
    updated_at: now,
    ...(direction === 'out' ? { message: sent } : {}),
  }
  /** @type {import('../message-body.js').BodyContext} */
  const context = { byId: new Map(), who: () => (direction === 'out' ? bot.name : 'You'), outboundMedia: testMedia, cache: new Map(), tappable: false }
  return h(
    'li',
    { class: `msg ${direction} type-${sent.type}`, 'data-type': sent.type },
    h('div', { class: 'who' }, direction === 'out' ? bot.name : 'You (test)', sent.type !== 'text' ? ` · ${sent.type}` : ''),
    messageBody(message, context),
  )
}

/**
 * The Test box: one message to the bot, its answer (or why there is none) below.
 * @param {BotDto} bot
 * @param {(fresh: BotDto) => void} onHealth  called with the bot read again after the test
 */
function testBox(bot, onHealth) {
  const result = h('div', { class: 'test-result', 'aria-live': 'polite' })
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'test-box', novalidate: true },
      h('div', { class: 'composer' }, field({ label: 'Test message', name: 'text', placeholder: 'Hello!', hint: 'Sent to the bot only, not to WhatsApp.' }), h('button', { type: 'submit' }, 'Test')),
      result,
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('text'))
    const said = input.value.trim()
    if (said === '') {
      replace(result, h('p', { class: 'alert error' }, 'Type a message to send to the bot first.'))
      input.focus()
      return
    }
    replace(result, h('p', { class: 'meta' }, `Waiting for ${bot.name}…`))
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        const answer = /** @type {{ replies: OutboundDto[] }} */ (await api('POST', `/api/bots/${bot.id}/test`, { text: said }))
        const replies = answer?.replies ?? []
        replace(
          result,
          h(
            'ul',
            { class: 'thread test-thread', 'aria-label': 'Test conversation' },
            testBubble(bot, 'in', { type: 'text', text: said }, 0),
            replies.map((reply, index) => testBubble(bot, 'out', reply, index)),
          ),
          replies.length === 0 ? h('p', { class: 'meta' }, `${bot.name} answered with no reply.`) : null,
        )
        announce(replies.length === 0 ? `${bot.name} answered with no reply` : `${bot.name} answered`)
      } catch (error) {
        const problem = /** @type {{ message?: string, code?: string, health?: string }} */ (error)
        const words = problem.health ? HEALTH_WORDS[problem.health] : undefined
        replace(
          result,
          h('div', { class: 'alert error', role: 'alert', 'data-code': problem.code ?? '', 'data-health': problem.health ?? '' }, words ? h('strong', {}, `${words}: `) : null, problem.message ?? String(error)),
        )
      }
    })
    try {
      onHealth(await api('GET', `/api/bots/${bot.id}`))
    } catch {
      // The health line catches up at the next poll.
    }
  })
  return form
}

/**
 * @param {BotDto} bot
 * @param {{ reload: (note?: string) => Promise<void>, onDeleted: (note: string) => Promise<void>, note: string | null }} options
 */
function botCard(bot, options) {
  const editBox = h('div')
  const healthBox = h('div', { class: 'health-box' }, healthLine(bot))
  const edit = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false' }, 'Edit')
  edit.addEventListener('click', () => {
    const open = edit.getAttribute('aria-expanded') === 'true'
    edit.setAttribute('aria-expanded', String(!open))
    if (open) return editBox.replaceChildren()
    replace(editBox, h('h4', {}, `Edit ${bot.name}`), botForm(bot, (saved) => {
      announce(`Bot ${saved.name} saved`)
      void options.reload(`Saved ${saved.name}.`)
    }))
    editBox.querySelector('input')?.focus()
  })
  const remove = deleteInPlace({
    question: `Delete bot ${bot.name}? Its settings and keys are deleted from the gateway. A bot that answers a channel cannot be deleted: give the channel another bot first.`,
    confirm: 'Delete bot',
    onDelete: async () => {
      await api('DELETE', `/api/bots/${encodeURIComponent(bot.id)}`)
      await options.onDeleted(`Deleted bot ${bot.name}.`)
    },
    explain: (error) =>
      inUseExplanation(error, (c) => c.bot_id === bot.id, (one) => (one ? 'Choose another bot for it (Answered by), or delete it,' : 'Choose another bot for each (Answered by), or delete them,')),
  })
  return h(
    'li',
    { class: 'card', 'data-bot': bot.id },
    h('div', { class: 'card-head' }, h('h3', {}, bot.name), h('div', { class: 'row' }, edit, remove.button)),
    h('p', { class: 'meta' }, TYPE_LABELS[bot.type] ?? bot.type, ' · ', h('code', {}, bot.id)),
    remove.box,
    options.note ? h('div', { role: 'status' }, h('div', { class: 'alert ok' }, options.note)) : null,
    healthBox,
    summaryOf(bot),
    testBox(bot, (fresh) => replace(healthBox, healthLine(fresh))),
    editBox,
  )
}

/** @param {import('../main.js').PageContext} context */
export async function renderBots({ main }) {
  const listBox = h('ul', { class: 'list', 'aria-label': 'Bots' })
  const notice = h('div', { role: 'status' })
  /** @param {{ id: string, note: string } | null} [flash]  a note for one card, after a change made on it */
  const load = async (flash = null) => {
    const { items } = await listAll('/api/bots')
    if (items.length === 0) replace(listBox, h('li', { class: 'empty' }, 'No bots yet.'))
    else {
      replace(
        listBox,
        items.map((/** @type {BotDto} */ b) =>
          botCard(b, {
            note: flash?.id === b.id ? flash.note : null,
            reload: async (note) => {
              await load(note ? { id: b.id, note } : null)
              focusCard(listBox, `[data-bot="${CSS.escape(b.id)}"]`)
            },
            onDeleted: async (note) => {
              replace(notice, h('div', { class: 'alert ok' }, note))
              announce(note)
              await load()
              notice.scrollIntoView({ block: 'nearest' })
            },
          }),
        ),
      )
    }
  }
  // Health changes as messages flow: only the health lines are redrawn, so forms being typed in stay.
  const refreshHealth = async () => {
    const { items } = await listAll('/api/bots')
    for (const bot of /** @type {BotDto[]} */ (items)) {
      const box = listBox.querySelector(`[data-bot="${CSS.escape(bot.id)}"] .health-box`)
      const shown = box?.querySelector('.health')
      const fresh = healthLine(bot)
      if (box && shown?.textContent !== fresh.textContent) replace(box, fresh)
    }
  }
  const createBox = h('div', { class: 'card' })
  const resetCreate = () =>
    replace(
      createBox,
      botForm(null, async (saved) => {
        replace(notice, h('div', { class: 'alert ok' }, `Bot “${saved.name}” added. Connect it to a number on the `, h('a', { href: '/console/channels', 'data-nav': true }, 'Channels'), ' page.'))
        announce(`Bot ${saved.name} added`)
        resetCreate()
        await load()
      }),
    )
  resetCreate()
  await load()
  replace(
    main,
    h('h1', {}, 'Bots'),
    h(
      'p',
      { class: 'lead' },
      'What answers your users. An http bot receives each message as JSON and answers {"replies": [{"type": "text", "text": "…"}]}; an llm bot asks a language model (OpenAI, or a local Ollama) with the conversation so far.',
    ),
    notice,
    listBox,
    h('h2', {}, 'Add a bot'),
    createBox,
  )
  const timer = setInterval(() => void refreshHealth().catch(() => {}), HEALTH_POLL_MS)
  return () => clearInterval(timer)
}
