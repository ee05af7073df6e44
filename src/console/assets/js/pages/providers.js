// @ts-check
/**
 * Providers: create and edit each type with the settings of SPEC §4. Secrets are never shown or sent
 * back in full: the API answers them masked, edit fields start empty and are sent only when typed in.
 */
import { api, listAll } from '../api.js'
import { deleteInPlace, focusCard, inUseExplanation } from '../card-actions.js'
import { announce, busy, copyButton, field, h, replace, showFieldErrors, showFormError, timeEl } from '../dom.js'

/**
 * @typedef {import('../api.js').ProviderDto} ProviderDto
 * @typedef {{ name: string, label: string, hint: string, secret?: boolean, optional?: boolean, inputmode?: string }} SettingSpec
 * @typedef {{ label: string, settings: SettingSpec[], health: Record<string, string>, signedWith: string }} TypeSpec
 */

/** What a person types for each provider type, and what each health problem means for them. @type {Record<string, TypeSpec>} */
export const PROVIDER_TYPES = {
  meta_cloud_api: {
    label: 'Meta WhatsApp Cloud API',
    settings: [
      { name: 'business_id', label: 'WhatsApp Business Account ID', inputmode: 'numeric', hint: "Digits only, from Meta's WhatsApp Manager (the account's overview)." },
      { name: 'access_token', label: 'Access token', secret: true, hint: 'A System User access token (Business Settings → Users → System users) with whatsapp_business_messaging and whatsapp_business_management.' },
      { name: 'app_secret', label: 'App Secret', secret: true, hint: 'App Dashboard → App settings → Basic → App secret. It proves webhooks come from Meta.' },
      { name: 'verify_token', label: 'Verify token', secret: true, hint: 'Any phrase you choose. You type the same phrase in the App Dashboard (WhatsApp → Configuration → Webhook).' },
      { name: 'template_language_code', label: 'Template language', optional: true, hint: 'Language of message templates, e.g. en or pt_BR. Leave empty for en.' },
    ],
    health: {
      token_invalid: 'The access token expired or was revoked: paste a new System User token.',
      signature_failures: 'The App Secret does not match the app that sends these webhooks: copy the App Secret of that app (App settings → Basic) and paste it here.',
    },
    signedWith: 'the App Secret stored here is not the one of the Meta app that sends them: paste that app’s App Secret (App settings → Basic) with Edit',
  },
  twilio: {
    label: 'Twilio',
    settings: [
      { name: 'account_sid', label: 'Account SID', hint: 'Starts with AC; on the Twilio Console home page.' },
      { name: 'auth_token', label: 'Auth Token', secret: true, hint: 'Next to the Account SID on the Twilio Console home page.' },
    ],
    health: {
      token_invalid: 'Twilio refused the Auth Token: paste the current one from the Twilio Console.',
      signature_failures: 'Webhook signatures do not match: the Auth Token is not the one of the account that sends them, or PUBLIC_URL differs from the address Twilio calls.',
    },
    signedWith: 'the Auth Token stored here is not the one of the account that sends them (paste the current one with Edit), or PUBLIC_URL differs from the address Twilio calls',
  },
  turnio: {
    label: 'Turn.io',
    settings: [
      { name: 'auth_token', label: 'API token', secret: true, hint: 'Turn.io → Settings → API & Webhooks → create a token.' },
      { name: 'hmac_secret', label: 'HMAC secret', secret: true, optional: true, hint: 'The secret of the webhook you add in Turn.io (Settings → API & Webhooks); it signs every webhook. Empty accepts unsigned webhooks.' },
    ],
    health: {
      token_invalid: 'Turn.io refused the API token: create a new token in Turn.io and paste it.',
      signature_failures: 'The HMAC secret does not match the one Turn.io signs these webhooks with.',
      unsigned_webhooks: 'Webhooks arrive unsigned: set the HMAC secret Turn.io uses, so forged webhooks are refused.',
    },
    signedWith: 'the HMAC secret stored here is not the one Turn.io signs them with: paste the secret of the webhook in Turn.io (Settings → API & Webhooks) with Edit',
  },
}

/**
 * The health of a provider in words a person can act on.
 * @param {ProviderDto} provider
 * @returns {{ ok: boolean, text: string }}
 */
export function healthWords(provider) {
  const status = provider.health.status
  if (status === 'ok') return { ok: true, text: 'Working: no problems seen.' }
  const words = PROVIDER_TYPES[provider.type]?.health[status]
  return { ok: false, text: words ?? `Problem: ${status.replace(/_/g, ' ')}.` }
}

/**
 * @typedef {import('../api.js').CredentialCheckDto} CredentialCheckDto
 * @typedef {ProviderDto['health']['evidence']} HealthEvidence
 */

/**
 * What the gateway has seen of a provider working: the last signed webhook, the last send it accepted,
 * the last credential check. Null when the answer has none (a gateway from before it was kept), so the
 * page still shows the health without it.
 * @param {ProviderDto} provider
 * @returns {HealthEvidence | null}
 */
function evidenceOf(provider) {
  const evidence = /** @type {HealthEvidence | undefined} */ (provider.health.evidence)
  return evidence ?? null
}

/** A connection check's outcome in words, with the badge it wears. */
const CHECK_WORDS = /** @type {Record<string, { badge: string, words: string }>} */ ({
  ok: { badge: 'ok', words: 'Connection works' },
  refused: { badge: 'bad', words: 'Credentials refused' },
  unreachable: { badge: 'warn', words: 'Could not be reached' },
})

/** How many of the addresses forged or mis-signed webhooks came from are listed. */
const FAILURE_SOURCES_SHOWN = 3

/**
 * Webhooks whose signature failed, in words a person can act on: how many, the last one's address and
 * time, the addresses they came from (a few, with counts), and what to do. Anyone who knows a number can
 * post such a webhook, so they are either the provider's own (the stored secret is wrong) or forged
 * posts the gateway refused: the person knows which from the addresses. Null when there were none.
 * @param {ProviderDto} provider
 * @param {HealthEvidence | null} evidence
 */
function signatureFailuresLine(provider, evidence) {
  const failures = evidence?.signature_failures ?? null
  if (!failures) return null
  const plural = failures.count === 1 ? 'webhook' : 'webhooks'
  const sources = failures.sources.slice(0, FAILURE_SOURCES_SHOWN)
  const others = failures.sources.length - sources.length
  const ownFix = PROVIDER_TYPES[provider.type]?.signedWith ?? 'the secret stored here is not the one they are signed with: paste the right one with Edit'
  return h(
    'div',
    { class: 'alert warn', 'data-evidence': 'signature-failures' },
    h(
      'p',
      {},
      h('strong', {}, `${failures.count} ${plural} failed signature checks`),
      '; last from ',
      h('code', {}, failures.last_source),
      ' at ',
      timeEl(failures.last_at),
      '. They were refused: nothing in them was stored or sent to a bot.',
    ),
    sources.length > 0
      ? h(
          'p',
          { class: 'meta' },
          'From: ',
          sources.map((source, i) => [i > 0 ? ', ' : '', h('code', {}, source.address), ` (${source.count}×, last `, timeEl(source.last_at), ')']),
          others > 0 ? ` and ${others} more ${others === 1 ? 'address' : 'addresses'}` : null,
          '.',
        )
      : null,
    h('p', {}, `If these are your own provider’s webhooks, ${ownFix}. If not, someone else posted them: forged webhooks the gateway refused, and nothing needs doing.`),
  )
}

/**
 * The provider's health: the problem in words when there is one; otherwise what shows it works (the
 * evidence), rather than a bare "Healthy" that nothing backs.
 * @param {ProviderDto} provider
 */
function healthBlock(provider) {
  const health = healthWords(provider)
  const evidence = evidenceOf(provider)
  const check = evidence?.last_check ?? null
  const seenNothing = evidence !== null && !evidence.last_webhook_at && !evidence.last_send_ok_at && !check
  const head = seenNothing && health.ok
    ? h('p', { class: 'health', 'data-health': 'unknown' }, h('span', { class: 'badge' }, 'Not checked yet'), ' ', 'No problem seen, but nothing yet either: no webhook, no accepted send, no connection check. Use Test connection to check the credentials now.')
    : h('p', { class: 'health', 'data-health': provider.health.status }, h('span', { class: `badge ${health.ok ? 'ok' : 'bad'}` }, health.ok ? 'Healthy' : 'Needs attention'), ' ', health.text)
  return h(
    'div',
    {},
    head,
    !health.ok && provider.health.message ? h('p', { class: 'meta' }, 'What the gateway saw: ', provider.health.message, ' (', timeEl(provider.health.last_seen_at), ')') : null,
    evidence && !seenNothing
      ? h(
          'ul',
          { class: 'evidence', 'aria-label': `What shows ${provider.name} works` },
          h('li', { 'data-evidence': 'webhook' }, h('span', { class: 'meta' }, 'Last webhook received: '), timeEl(evidence.last_webhook_at)),
          h('li', { 'data-evidence': 'send' }, h('span', { class: 'meta' }, 'Last send it accepted: '), timeEl(evidence.last_send_ok_at)),
          h(
            'li',
            { 'data-evidence': 'check' },
            h('span', { class: 'meta' }, 'Last connection check: '),
            check ? [CHECK_WORDS[check.status]?.words ?? check.status, ', ', timeEl(check.checked_at), h('span', { class: 'meta' }, `: ${check.message}`)] : h('span', { class: 'meta' }, 'never'),
          ),
        )
      : null,
    signatureFailuresLine(provider, evidence),
  )
}

/**
 * The Test connection button and where its answer shows: `POST /api/providers/{id}/test` asks the
 * provider with the stored credentials (nothing is sent to anyone).
 * @param {ProviderDto} provider
 * @param {(fresh: ProviderDto) => void} onHealth  called with the provider read again after the check
 */
function connectionTest(provider, onHealth) {
  const result = h('div', { class: 'check-result', 'aria-live': 'polite' })
  const button = h('button', { type: 'button', class: 'small' }, 'Test connection')
  button.addEventListener('click', () =>
    busy(button, async () => {
      replace(result, h('p', { class: 'meta' }, `Asking ${PROVIDER_TYPES[provider.type]?.label ?? 'the provider'}…`))
      try {
        /** @type {CredentialCheckDto} */
        const answer = await api('POST', `/api/providers/${encodeURIComponent(provider.id)}/test`)
        const words = CHECK_WORDS[answer.status] ?? { badge: 'warn', words: answer.status }
        const todo = answer.status === 'refused' ? PROVIDER_TYPES[provider.type]?.health.token_invalid : undefined
        replace(
          result,
          h(
            'p',
            { class: `alert ${answer.status === 'ok' ? 'ok' : answer.status === 'refused' ? 'error' : 'warn'}`, 'data-check-status': answer.status },
            h('span', { class: `badge ${words.badge}` }, words.words),
            ' ',
            answer.message,
            todo ? [' ', h('strong', {}, todo)] : null,
            ' ',
            h('span', { class: 'meta' }, 'Checked ', timeEl(answer.checked_at), '.'),
          ),
        )
        announce(`${words.words}: ${answer.message}`)
      } catch (error) {
        replace(result, h('p', { class: 'alert error', role: 'alert', 'data-check-status': 'error' }, /** @type {Error} */ (error).message))
        return
      }
      try {
        onHealth(await api('GET', `/api/providers/${encodeURIComponent(provider.id)}`))
      } catch {
        // The health line shows the check on the next visit.
      }
    }),
  )
  return { button, result }
}

/** Client-side checks of the provider form: every empty required field and malformed value at once. */
function providerProblems(/** @type {HTMLFormElement} */ form, /** @type {string} */ type, /** @type {ProviderDto | null} */ current) {
  const value = (/** @type {string} */ name) => /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name))?.value.trim() ?? ''
  /** @type {import('../dom.js').FieldProblem[]} */
  const problems = []
  if (value('name') === '') problems.push({ field: 'name', message: 'Give the provider a name: it is how the console lists it.' })
  for (const setting of PROVIDER_TYPES[type]?.settings ?? []) {
    const name = `config.${setting.name}`
    const typed = value(name)
    const required = !setting.optional && !(setting.secret && current)
    if (typed === '' && required) problems.push({ field: name, message: `Fill in the ${setting.label}.` })
    else if (typed !== '' && setting.inputmode === 'numeric' && !/^\d+$/.test(typed)) problems.push({ field: name, message: `Digits only: the ${setting.label} is a number.` })
  }
  return problems
}

/**
 * The settings fields of a type; on edit, secrets start empty and say what is stored.
 * @param {string} type
 * @param {ProviderDto | null} current
 */
function settingsFields(type, current) {
  const spec = PROVIDER_TYPES[type]
  if (!spec) return []
  return spec.settings.map((setting) => {
    const stored = current?.config[setting.name]
    const hint = setting.secret && current ? `${setting.hint} Stored: ${stored ?? 'none'}. Leave empty to keep it.` : setting.hint
    return field({
      label: `${setting.label}${setting.optional ? ' (optional)' : ''}`,
      name: `config.${setting.name}`,
      type: setting.secret ? 'password' : 'text',
      value: setting.secret ? '' : (stored ?? ''),
      required: !setting.optional && !(setting.secret && current),
      autocomplete: setting.secret ? 'new-password' : 'off',
      hint,
      ...(setting.inputmode ? { inputmode: setting.inputmode } : {}),
    })
  })
}

/**
 * The create form (current = null) or the edit form of a provider.
 * @param {ProviderDto | null} current
 * @param {(provider: ProviderDto) => void} onSaved
 */
function providerForm(current, onSaved) {
  const typeOptions = Object.entries(PROVIDER_TYPES).map(([value, spec]) => ({ value, label: spec.label }))
  const settingsBox = h('div', { class: 'fields' })
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      current
        ? h('p', {}, h('strong', {}, 'Type: '), PROVIDER_TYPES[current.type]?.label ?? current.type)
        : field({ label: 'Type', name: 'type', options: typeOptions, value: 'meta_cloud_api' }),
      field({ label: 'Name', name: 'name', value: current?.name ?? '', required: true, hint: 'For you: it names this account in the console.' }),
      settingsBox,
      h('div', { class: 'form-alert' }),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, current ? 'Save changes' : 'Add provider')),
    )
  )
  const typeOf = () => current?.type ?? /** @type {HTMLSelectElement} */ (form.elements.namedItem('type')).value
  const showSettings = () => replace(settingsBox, settingsFields(typeOf(), current))
  showSettings()
  form.querySelector('select[name=type]')?.addEventListener('change', showSettings)

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const type = typeOf()
    if (showFieldErrors(form, providerProblems(form, type, current))) return
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name))?.value.trim() ?? ''
    /** @type {Record<string, string | null>} */
    const config = {}
    for (const setting of PROVIDER_TYPES[type]?.settings ?? []) {
      const typed = value(`config.${setting.name}`)
      if (setting.secret) {
        // An empty secret on edit keeps the stored one: it is simply not sent.
        if (typed !== '') config[setting.name] = typed
      } else if (typed !== '') config[setting.name] = typed
      else if (current && setting.optional && current.config[setting.name] !== undefined) config[setting.name] = null
    }
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        const saved = current
          ? await api('PATCH', `/api/providers/${current.id}`, { name: value('name'), config })
          : await api('POST', '/api/providers', { type, name: value('name'), config })
        onSaved(saved)
      } catch (error) {
        showFormError(form, error)
      }
    })
  })
  return form
}

/**
 * One provider: its health in words and what shows it works, a connection test, its settings (secrets
 * masked), an edit form on demand, and deleting it (refused, with what to do, while channels use it).
 * @param {ProviderDto} provider
 * @param {{ reload: (note?: string) => Promise<void>, onDeleted: (note: string) => Promise<void>, note: string | null }} options
 */
function providerCard(provider, options) {
  const editBox = h('div')
  const editButton = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false' }, 'Edit')
  editButton.addEventListener('click', () => {
    const open = editButton.getAttribute('aria-expanded') === 'true'
    editButton.setAttribute('aria-expanded', String(!open))
    if (open) return editBox.replaceChildren()
    replace(
      editBox,
      h('h4', {}, `Edit ${provider.name}`),
      providerForm(provider, (saved) => {
        announce(`Provider ${saved.name} saved`)
        void options.reload(`Saved ${saved.name}.`)
      }),
    )
    editBox.querySelector('input')?.focus()
  })
  const healthBox = h('div', { class: 'health-box' }, healthBlock(provider))
  const test = connectionTest(provider, (fresh) => replace(healthBox, healthBlock(fresh)))
  const remove = deleteInPlace({
    question: `Delete provider ${provider.name}? Its credentials are deleted from the gateway and its templates list goes with it. Your account at the provider is not touched.`,
    confirm: 'Delete provider',
    onDelete: async () => {
      await api('DELETE', `/api/providers/${encodeURIComponent(provider.id)}`)
      await options.onDeleted(`Deleted provider ${provider.name}.`)
    },
    explain: (error) => inUseExplanation(error, (c) => c.provider_id === provider.id, (one) => (one ? 'Delete that channel' : 'Delete those channels')),
  })
  const settings = Object.entries(provider.config).map(([key, value]) => h('li', {}, h('span', { class: 'meta' }, `${key}: `), h('code', {}, value)))
  return h(
    'li',
    { class: 'card', 'data-provider': provider.id },
    h('div', { class: 'card-head' }, h('h3', {}, provider.name)),
    h('p', { class: 'meta' }, PROVIDER_TYPES[provider.type]?.label ?? provider.type, ' · ', h('code', {}, provider.id)),
    healthBox,
    h('div', { class: 'row card-actions' }, test.button, editButton, remove.button),
    test.result,
    remove.box,
    options.note ? h('div', { role: 'status' }, h('div', { class: 'alert ok' }, options.note)) : null,
    provider.webhook_url
      ? h('div', { class: 'copy-row' }, h('span', { class: 'meta' }, 'Webhook URL for all its channels:'), h('code', {}, provider.webhook_url), copyButton(provider.webhook_url, 'webhook URL'))
      : null,
    h('details', {}, h('summary', {}, 'Settings'), h('ul', { class: 'list' }, settings)),
    h('p', {}, h('a', { href: `/console/templates?provider=${provider.id}`, 'data-nav': true }, `Message templates of ${provider.name}`)),
    editBox,
  )
}

/** @param {import('../main.js').PageContext} context */
export async function renderProviders({ main }) {
  const listBox = h('ul', { class: 'list', 'aria-label': 'Providers' })
  const notice = h('div', { role: 'status' })
  /** @param {{ id: string, note: string } | null} [flash]  a note for one card, after a change made on it */
  const load = async (flash = null) => {
    const { items } = await listAll('/api/providers')
    if (items.length === 0) replace(listBox, h('li', { class: 'empty' }, 'No providers yet. Add the account you send WhatsApp messages with below.'))
    else {
      replace(
        listBox,
        items.map((/** @type {ProviderDto} */ p) =>
          providerCard(p, {
            note: flash?.id === p.id ? flash.note : null,
            reload: async (note) => {
              await load(note ? { id: p.id, note } : null)
              focusCard(listBox, `[data-provider="${CSS.escape(p.id)}"]`)
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
  const createBox = h('div', { class: 'card' })
  const resetCreate = () =>
    replace(
      createBox,
      providerForm(null, async (saved) => {
        // The creation's answer says how the credential check went (a provider that could not be asked is stored anyway).
        const check = /** @type {{ credentials?: CredentialCheckDto }} */ (saved).credentials
        replace(
          notice,
          h('div', { class: 'alert ok' }, `Provider “${saved.name}” added. Next: connect a number on the `, h('a', { href: '/console/channels', 'data-nav': true }, 'Channels'), ' page.', check?.status === 'ok' ? ` ${check.message}` : null),
          check && check.status !== 'ok' ? h('div', { class: 'alert warn' }, `Its credentials were not checked: ${check.message} Use Test connection on its card once it can be reached.`) : null,
        )
        announce(`Provider ${saved.name} added`)
        resetCreate()
        await load()
      }),
    )
  resetCreate()
  await load()
  replace(
    main,
    h('h1', {}, 'Providers'),
    h('p', { class: 'lead' }, 'Your accounts at Meta, Twilio or Turn.io. Secrets are stored encrypted and only ever shown masked.'),
    notice,
    listBox,
    h('h2', {}, 'Add a provider'),
    createBox,
  )
}
