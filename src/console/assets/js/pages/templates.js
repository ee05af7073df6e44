// @ts-check
/**
 * Templates: a provider's message templates as the gateway last synced them (status, category,
 * parameters and text), and a Sync button that asks the provider again and says what came back, or the
 * provider's own words when it refused.
 */
import { api, listAll } from '../api.js'
import { announce, busy, field, h, replace } from '../dom.js'
import { PROVIDER_TYPES } from './providers.js'
import { bodyText, buttonTexts, headerText, loadTemplates, paramsWords, statusBadge, templateKey } from '../templates.js'

/**
 * @typedef {import('../api.js').ProviderDto} ProviderDto
 * @typedef {import('../api.js').TemplateDto} TemplateDto
 */

/** Where each provider type's templates come from, in words. */
const SOURCE = /** @type {Record<string, string>} */ ({
  meta_cloud_api: 'WhatsApp Manager (Meta)',
  twilio: 'Twilio’s Content Template Builder',
  turnio: 'Turn.io',
})

/** One template as a table row. */
function templateRow(/** @type {TemplateDto} */ template) {
  const header = headerText(template)
  const body = bodyText(template)
  const buttons = buttonTexts(template)
  return h(
    'tr',
    { 'data-template': templateKey(template) },
    h(
      'th',
      { scope: 'row' },
      h('code', {}, template.name),
      header ? h('div', { class: 'meta' }, h('strong', {}, header)) : null,
      body ? h('div', { class: 'template-text' }, body) : null,
      buttons.length > 0 ? h('div', { class: 'meta' }, 'Buttons: ', buttons.join(' · ')) : null,
    ),
    h('td', {}, template.language),
    h('td', {}, statusBadge(template.status)),
    h('td', {}, template.category ? template.category.charAt(0) + template.category.slice(1).toLowerCase() : '—'),
    h('td', {}, paramsWords(template), template.params.length > 0 ? h('div', { class: 'meta' }, template.parameter_format === 'NAMED' ? 'named' : 'positional') : null),
  )
}

/** @param {import('../main.js').PageContext} context */
export async function renderTemplates({ main, params, navigate }) {
  const { items: providers } = await listAll('/api/providers')
  if (providers.length === 0) {
    replace(main, h('h1', {}, 'Templates'), h('p', {}, 'No providers yet: ', h('a', { href: '/console/providers', 'data-nav': true }, 'add a provider'), ' first.'))
    return
  }
  /** @type {ProviderDto} */
  const provider = providers.find((/** @type {ProviderDto} */ p) => p.id === params.get('provider')) ?? providers[0]
  const picker = field({ label: 'Provider', name: 'provider', value: provider.id, options: providers.map((/** @type {ProviderDto} */ p) => ({ value: p.id, label: `${p.name} (${PROVIDER_TYPES[p.type]?.label ?? p.type})` })) })
  picker.querySelector('select')?.addEventListener('change', (event) => {
    navigate(`/console/templates?provider=${encodeURIComponent(/** @type {HTMLSelectElement} */ (event.target).value)}`)
  })

  const tableBox = h('div')
  const summary = h('span')
  const load = async () => {
    const templates = await loadTemplates(provider.id)
    const approved = templates.filter((t) => t.status === 'APPROVED').length
    summary.textContent =
      templates.length === 0 ? '' : `${templates.length} template${templates.length === 1 ? '' : 's'}, ${approved} approved (only approved templates can be sent).`
    if (templates.length === 0) {
      replace(tableBox, h('p', { class: 'empty' }, `No templates yet. Create them in ${SOURCE[provider.type] ?? 'the provider'}, then sync.`))
      return
    }
    replace(
      tableBox,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data', 'aria-label': `Templates of ${provider.name}` },
          h('thead', {}, h('tr', {}, ['Template', 'Language', 'Status', 'Category', 'Parameters'].map((title) => h('th', { scope: 'col' }, title)))),
          h('tbody', {}, templates.map(templateRow)),
        ),
      ),
    )
  }

  const syncNote = h('div', { role: 'status' })
  const syncButton = h('button', { type: 'button', class: 'secondary' }, 'Sync now')
  syncButton.addEventListener('click', () =>
    busy(syncButton, async () => {
      replace(syncNote, h('p', { class: 'meta' }, 'Asking the provider…'))
      try {
        const answer = /** @type {{ synced: number }} */ (await api('POST', `/api/providers/${provider.id}/templates/sync`))
        await load()
        const words = `Synced ${answer.synced} template${answer.synced === 1 ? '' : 's'} from ${provider.name}.`
        replace(syncNote, h('div', { class: 'alert ok' }, words))
        announce(words)
      } catch (error) {
        replace(syncNote, h('div', { class: 'alert error', role: 'alert' }, 'The sync failed: ', /** @type {Error} */ (error).message))
      }
    }),
  )

  await load()
  replace(
    main,
    h('h1', {}, 'Templates'),
    h(
      'p',
      { class: 'lead' },
      'Outside the 24-hour window after a person’s last message, WhatsApp delivers only approved templates. ',
      'The gateway keeps each provider’s list, checks every template send against it, and updates it when the provider reports a change.',
    ),
    providers.length > 1 ? h('div', { class: 'card' }, picker) : null,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'templates-heading' },
      h('div', { class: 'card-head' }, h('h2', { id: 'templates-heading', class: 'flush' }, `Templates of ${provider.name}`), syncButton),
      h('p', { class: 'meta' }, `From ${SOURCE[provider.type] ?? provider.type}. `, summary),
      syncNote,
      tableBox,
    ),
  )
}
