// @ts-check
/**
 * Message templates as people read them: status in words, parameters as `{{1}}` or by name, the body
 * text from the provider's components (Meta's; other providers' descriptions show no preview), shared by
 * the Templates, Broadcasts and Channels pages.
 */
import { listAll } from './api.js'
import { h } from './dom.js'

/** @typedef {import('./api.js').TemplateDto} TemplateDto */

/** Statuses in words, and how they look: only approved templates can be sent. */
const STATUS = /** @type {Record<string, { words: string, tone: 'ok' | 'warn' | 'bad' }>} */ ({
  APPROVED: { words: 'Approved', tone: 'ok' },
  PENDING: { words: 'Pending review', tone: 'warn' },
  IN_APPEAL: { words: 'In appeal', tone: 'warn' },
  REJECTED: { words: 'Rejected', tone: 'bad' },
  PAUSED: { words: 'Paused', tone: 'bad' },
  DISABLED: { words: 'Disabled', tone: 'bad' },
  FLAGGED: { words: 'Flagged', tone: 'warn' },
})

/** A template's status as a badge. */
export function statusBadge(/** @type {string} */ status) {
  const known = STATUS[status] ?? { words: status.charAt(0) + status.slice(1).toLowerCase().replace(/_/g, ' '), tone: 'warn' }
  return h('span', { class: `badge ${known.tone}` }, known.words)
}

/** How a parameter is written in the template: `{{1}}` or its name. */
export function paramLabel(/** @type {TemplateDto} */ template, /** @type {string} */ param) {
  return template.parameter_format === 'NAMED' ? param : `{{${param}}}`
}

/** @returns {Array<Record<string, unknown>>} */
function components(/** @type {TemplateDto} */ template) {
  return Array.isArray(template.components) ? template.components.filter((c) => typeof c === 'object' && c !== null) : []
}

/** @param {TemplateDto} template @param {string} type */
function component(template, type) {
  return components(template).find((c) => String(c.type).toUpperCase() === type)
}

/** The body text with its placeholders, or null when the provider's description has none. */
export function bodyText(/** @type {TemplateDto} */ template) {
  const text = component(template, 'BODY')?.text
  return typeof text === 'string' ? text : null
}

/** The header in words: its text, or the kind of media it takes. */
export function headerText(/** @type {TemplateDto} */ template) {
  const header = component(template, 'HEADER')
  if (!header) return null
  if (typeof header.text === 'string') return header.text
  return typeof header.format === 'string' ? `(${header.format.toLowerCase()} header)` : null
}

/** The buttons' texts. */
export function buttonTexts(/** @type {TemplateDto} */ template) {
  const buttons = component(template, 'BUTTONS')?.buttons
  if (!Array.isArray(buttons)) return []
  return buttons.map((b) => (typeof b?.text === 'string' ? b.text : '')).filter((text) => text !== '')
}

/** The provider's example value of a parameter (Meta's `example`), for a placeholder. */
export function paramExample(/** @type {TemplateDto} */ template, /** @type {string} */ param) {
  const example = /** @type {{ body_text?: unknown, body_text_named_params?: unknown } | undefined} */ (component(template, 'BODY')?.example)
  if (!example) return ''
  if (template.parameter_format === 'NAMED' && Array.isArray(example.body_text_named_params)) {
    const found = example.body_text_named_params.find((e) => e?.param_name === param)
    return typeof found?.example === 'string' ? found.example : ''
  }
  const first = Array.isArray(example.body_text) ? example.body_text[0] : undefined
  const value = Array.isArray(first) ? first[Number(param) - 1] : undefined
  return typeof value === 'string' ? value : ''
}

/** "appointment_reminder (en)": a template named for a picker. */
export function templateTitle(/** @type {TemplateDto} */ template) {
  return `${template.name} (${template.language})`
}

/** A template's key in pickers: name and language. */
export function templateKey(/** @type {TemplateDto} */ template) {
  return `${template.name}|${template.language}`
}

/**
 * Every template the gateway has for a provider (synced from it).
 * @param {string} providerId
 * @returns {Promise<TemplateDto[]>}
 */
export async function loadTemplates(providerId) {
  return (await listAll(`/api/providers/${encodeURIComponent(providerId)}/templates`, 30)).items
}

/** The parameters in words: "{{1}}, {{2}}", or "none". */
export function paramsWords(/** @type {TemplateDto} */ template) {
  return template.params.length === 0 ? 'none' : template.params.map((p) => paramLabel(template, p)).join(', ')
}
