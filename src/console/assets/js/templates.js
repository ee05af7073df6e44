// @ts-check
/**
 * Message templates as people read them: status in words, parameters as `{{1}}` or by name, the body
 * text from the provider's components (Meta's; other providers' descriptions show no preview), and a
 * picker of one template with its parameters; shared by the Templates, Broadcasts and Channels pages
 * and the Conversations composer.
 */
import { listAll } from './api.js'
import { field, h, replace } from './dom.js'

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

/** The body text with the values given so far in place of their placeholders (the rest left as they are). */
export function filledBody(/** @type {TemplateDto} */ template, /** @type {Record<string, string>} */ values) {
  const body = bodyText(template)
  if (body === null) return null
  return body.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, name) => values[name] || whole)
}

/**
 * A template and its parameters, picked for one send: the provider's approved templates in a list (or,
 * for a provider that keeps none, typed), a field per parameter with the provider's example as its
 * placeholder, and the body as it will read. Field names: `template`, `param.<name>` (typed: `template`,
 * `language`, `params`), so an API error names its field through `apiField`.
 * @param {TemplateDto[] | null} approved  null when the provider keeps no list (Turn.io)
 */
export function templatePicker(approved) {
  const paramsBox = h('div', { class: 'fields' })
  const preview = h('div', { class: 'template-preview', 'aria-live': 'polite' })
  const element = h(
    'div',
    { class: 'fields template-picker' },
    approved === null
      ? [
          field({ label: 'Template', name: 'template', hint: 'This provider keeps no template list here: type the name of an approved template.' }),
          field({ label: 'Language (optional)', name: 'language', placeholder: 'e.g. en' }),
          field({ label: 'Parameters (optional)', name: 'params', rows: 2, hint: 'One value per line, for {{1}}, {{2}}… in order.' }),
        ]
      : field({ label: 'Template', name: 'template', options: approved.map((t) => ({ value: templateKey(t), label: templateTitle(t) })) }),
    paramsBox,
    preview,
  )
  const control = (/** @type {string} */ name) => /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null} */ (element.querySelector(`[name="${CSS.escape(name)}"]`))
  const chosen = () => (approved === null ? undefined : (approved.find((t) => templateKey(t) === control('template')?.value) ?? approved[0]))
  /** @returns {Record<string, string>} */
  const values = () => {
    /** @type {Record<string, string>} */
    const out = {}
    for (const input of paramsBox.querySelectorAll('input')) out[input.name.slice('param.'.length)] = input.value.trim()
    return out
  }
  const showPreview = () => {
    const template = chosen()
    const text = template ? filledBody(template, values()) : null
    replace(preview, text === null ? null : [h('span', { class: 'meta' }, 'They will read:'), h('div', { class: 'template-text' }, text)])
  }
  const showParams = () => {
    const template = chosen()
    replace(
      paramsBox,
      template?.params.map((p) => field({ label: paramLabel(template, p), name: `param.${p}`, placeholder: paramExample(template, p) ? `e.g. ${paramExample(template, p)}` : '' })) ?? null,
    )
    showPreview()
  }
  control('template')?.addEventListener('change', showParams)
  paramsBox.addEventListener('input', showPreview)
  showParams()

  return {
    element,
    /**
     * The template message to send, or an error naming the field to fix.
     * @returns {{ message: Record<string, unknown> } | { error: string, field: string }}
     */
    message() {
      if (approved === null) {
        const name = control('template')?.value.trim() ?? ''
        if (name === '') return { error: 'Type the template’s name.', field: 'template' }
        const language = control('language')?.value.trim() ?? ''
        const params = (control('params')?.value ?? '').split('\n').map((v) => v.trim()).filter((v) => v !== '')
        return { message: { type: 'template', name, ...(language ? { language } : {}), ...(params.length > 0 ? { params } : {}) } }
      }
      const template = chosen()
      if (!template) return { error: 'Choose a template.', field: 'template' }
      const given = values()
      const missing = template.params.find((p) => !given[p])
      if (missing !== undefined) return { error: `Fill ${paramLabel(template, missing)}: the template needs every parameter.`, field: `param.${missing}` }
      /** @type {Record<string, unknown>} */
      const message = { type: 'template', name: template.name, language: template.language }
      if (template.params.length > 0) message.params = template.parameter_format === 'NAMED' ? given : template.params.map((p) => given[p] ?? '')
      return { message }
    },
    /**
     * The picker's field an API error names (`message.params[1]`, `message.name`), or undefined.
     * @param {string | undefined} at
     */
    apiField(at) {
      if (!at) return undefined
      if (approved === null) return at.startsWith('message.params') ? 'params' : at === 'message.language' ? 'language' : at.startsWith('message') ? 'template' : undefined
      const template = chosen()
      const index = /^message\.params\[(\d+)\]/.exec(at)
      if (index && template) return template.params[Number(index[1])] === undefined ? undefined : `param.${template.params[Number(index[1])]}`
      const named = /^message\.params\.(\w+)/.exec(at)
      if (named) return `param.${named[1]}`
      return at === 'message.name' || at === 'message.language' ? 'template' : undefined
    },
  }
}
