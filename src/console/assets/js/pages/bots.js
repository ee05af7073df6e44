// @ts-check
/**
 * Bots: `echo` (answers with what it got; for trying things) and `http` (your service, SPEC §7). The
 * http bot's secret is masked by the API; on edit it is sent only when a new one is typed.
 */
import { api, listAll } from '../api.js'
import { announce, busy, clearFormErrors, field, h, replace, showFormError } from '../dom.js'

/** @typedef {import('../api.js').BotDto} BotDto */

const TYPE_LABELS = /** @type {Record<string, string>} */ ({ echo: 'Echo (replies with the same text)', http: 'HTTP (your own service)' })

/** A random signing secret, so nobody has to invent one. */
function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * @param {BotDto | null} current
 * @param {(bot: BotDto) => void} onSaved
 */
function botForm(current, onSaved) {
  const httpBox = h('div', { class: 'fields' })
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      current
        ? h('p', {}, h('strong', {}, 'Type: '), TYPE_LABELS[current.type] ?? current.type)
        : field({ label: 'Type', name: 'type', value: 'echo', options: Object.entries(TYPE_LABELS).map(([value, label]) => ({ value, label })) }),
      field({ label: 'Name', name: 'name', value: current?.name ?? '', required: true }),
      httpBox,
      h('div', { class: 'form-alert' }),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, current ? 'Save changes' : 'Add bot')),
    )
  )
  const typeOf = () => current?.type ?? /** @type {HTMLSelectElement} */ (form.elements.namedItem('type')).value
  const showHttp = () => {
    if (typeOf() !== 'http') return httpBox.replaceChildren()
    const secret = field({
      label: 'Signing secret',
      name: 'config.secret',
      type: 'password',
      autocomplete: 'new-password',
      required: !current,
      hint: current
        ? `Stored: ${current.config.secret ?? 'none'}. Leave empty to keep it.`
        : 'At least 16 characters. Switchboard signs every request with it (X-Switchboard-Signature); your bot checks it.',
    })
    const generate = h('button', { type: 'button', class: 'secondary small' }, 'Generate a secret')
    generate.addEventListener('click', () => {
      const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('config.secret'))
      input.type = 'text'
      input.value = randomSecret()
      input.focus()
      input.select()
      announce('A new secret was generated; copy it into your bot too')
    })
    replace(
      httpBox,
      field({
        label: 'URL',
        name: 'config.url',
        type: 'url',
        value: current?.config.url ?? '',
        required: true,
        hint: 'Switchboard POSTs each incoming message here and sends the "replies" it answers with.',
      }),
      secret,
      h('div', {}, generate),
    )
  }
  showHttp()
  form.querySelector('select[name=type]')?.addEventListener('change', showHttp)

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(form)
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name))?.value.trim() ?? ''
    const type = typeOf()
    /** @type {Record<string, unknown>} */
    const body = { name: value('name') }
    if (type === 'http') {
      /** @type {Record<string, string>} */
      const config = { url: value('config.url') }
      if (value('config.secret') !== '') config.secret = value('config.secret')
      body.config = config
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
 * @param {BotDto} bot
 * @param {() => void} reload
 */
function botCard(bot, reload) {
  const editBox = h('div')
  const edit = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false' }, 'Edit')
  edit.addEventListener('click', () => {
    const open = edit.getAttribute('aria-expanded') === 'true'
    edit.setAttribute('aria-expanded', String(!open))
    if (open) return editBox.replaceChildren()
    replace(editBox, h('h4', {}, `Edit ${bot.name}`), botForm(bot, (saved) => {
      announce(`Bot ${saved.name} saved`)
      reload()
    }))
    editBox.querySelector('input')?.focus()
  })
  return h(
    'li',
    { class: 'card', 'data-bot': bot.id },
    h('div', { class: 'card-head' }, h('h3', {}, bot.name), edit),
    h('p', { class: 'meta' }, TYPE_LABELS[bot.type] ?? bot.type, ' · ', h('code', {}, bot.id)),
    bot.type === 'http' ? h('p', {}, 'Calls ', h('code', {}, bot.config.url ?? ''), ', signed with ', h('code', {}, bot.config.secret ?? '')) : null,
    editBox,
  )
}

/** @param {import('../main.js').PageContext} context */
export async function renderBots({ main }) {
  const listBox = h('ul', { class: 'list', 'aria-label': 'Bots' })
  const notice = h('div', { role: 'status' })
  const load = async () => {
    const { items } = await listAll('/api/bots')
    if (items.length === 0) replace(listBox, h('li', { class: 'empty' }, 'No bots yet.'))
    else replace(listBox, items.map((/** @type {BotDto} */ b) => botCard(b, () => void load())))
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
    h('p', { class: 'lead' }, 'What answers your users. An http bot receives each message as JSON and answers {"replies": [{"type": "text", "text": "…"}]}.'),
    notice,
    listBox,
    h('h2', {}, 'Add a bot'),
    createBox,
  )
}
