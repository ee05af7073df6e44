// @ts-check
/**
 * Small DOM helpers. Every text goes in through `textContent` (never innerHTML), so a message text or
 * a provider's error can never inject markup into the console.
 */

/**
 * Creates an element. `attrs` keys starting with `on` add listeners; `false`/`null`/`undefined` values
 * are skipped; children may be strings, nodes or nested arrays of them.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    else if (key === 'class') element.className = String(value)
    else if (value === true) element.setAttribute(key, '')
    else element.setAttribute(key, String(value))
  }
  append(element, children)
  return element
}

/**
 * @param {Element} parent
 * @param {unknown[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else if (child instanceof Node) parent.appendChild(child)
    else parent.appendChild(document.createTextNode(String(child)))
  }
}

/**
 * Replaces the children of `element`.
 * @param {Element} element
 * @param {...unknown} children
 */
export function replace(element, ...children) {
  element.replaceChildren()
  append(element, children)
}

/** Says `text` to screen readers through the page's polite live region. */
export function announce(/** @type {string} */ text) {
  const region = document.getElementById('announcer')
  if (!region) return
  region.textContent = ''
  // A fresh text node in a later frame makes screen readers read it even when it repeats.
  requestAnimationFrame(() => (region.textContent = text))
}

let idCounter = 0
/** A unique id for label/description wiring. */
export function uid(/** @type {string} */ prefix) {
  idCounter += 1
  return `${prefix}-${idCounter}`
}

/**
 * A labelled form field with a hint and an error slot wired through aria-describedby.
 * `rows` makes it a text area; `attrs` are added to the control (`min`, `max`, `step`…).
 * @param {{ label: string, name: string, hint?: string, type?: string, value?: string, required?: boolean,
 *   placeholder?: string, autocomplete?: string, options?: Array<{ value: string, label: string }>, inputmode?: string,
 *   rows?: number, attrs?: Record<string, string> }} spec
 */
export function field(spec) {
  const id = uid(`f-${spec.name.replace(/\W/g, '-')}`)
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const common = {
    id,
    name: spec.name,
    required: spec.required ?? false,
    'aria-describedby': `${spec.hint ? hintId : ''} ${errorId}`.trim(),
  }
  /** @type {HTMLElement} */
  let control
  if (spec.options) {
    control = h('select', common, spec.options.map((o) => h('option', { value: o.value, selected: o.value === spec.value }, o.label)))
  } else if (spec.rows) {
    const area = /** @type {HTMLTextAreaElement} */ (h('textarea', { ...common, ...spec.attrs, rows: String(spec.rows), placeholder: spec.placeholder, autocomplete: 'off' }))
    // A text area's value is its text content: set as a property, so no markup is ever parsed.
    area.value = spec.value ?? ''
    control = area
  } else {
    control = h('input', {
      ...common,
      type: spec.type ?? 'text',
      value: spec.value ?? '',
      placeholder: spec.placeholder,
      autocomplete: spec.autocomplete ?? 'off',
      inputmode: spec.inputmode,
      spellcheck: 'false',
      ...spec.attrs,
    })
  }
  const wrapper = h(
    'div',
    { class: 'field', 'data-field': spec.name },
    h('label', { for: id }, spec.label),
    spec.hint ? h('span', { class: 'hint', id: hintId }, spec.hint) : null,
    control,
    h('span', { class: 'field-error', id: errorId }),
  )
  return wrapper
}

/**
 * Puts `message` at the form field named `name` (its error slot, aria-invalid, a closed section opened).
 * @param {HTMLFormElement} form
 * @param {string} name
 * @param {string} message
 * @returns {HTMLElement | null}  the field's control, or null when the form has no such field
 */
function markField(form, name, message) {
  const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`)
  if (!wrapper) return null
  const control = /** @type {HTMLElement | null} */ (wrapper.querySelector('input, select, textarea'))
  const slot = wrapper.querySelector('.field-error')
  // Two problems of one field read as one sentence after the other.
  if (slot) slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message
  // A field inside a closed section (the bot's voice settings) must be visible to be fixed.
  const section = wrapper.closest('details')
  if (section) section.open = true
  control?.setAttribute('aria-invalid', 'true')
  return control ?? /** @type {HTMLElement} */ (wrapper)
}

/**
 * Shows API errors on a form: the field the API names gets its message inline (and focus); anything
 * else goes to the form's alert box. `fieldMap` maps API field names to form field names.
 * @param {HTMLFormElement} form
 * @param {unknown} error
 * @param {Record<string, string>} [fieldMap]
 */
export function showFormError(form, error, fieldMap = {}) {
  clearFormErrors(form)
  const apiError = /** @type {{ message?: string, field?: string }} */ (error)
  const message = apiError?.message ?? String(error)
  const name = apiError?.field ? (fieldMap[apiError.field] ?? apiError.field) : undefined
  const control = name ? markField(form, name, message) : null
  if (control) {
    control.focus()
    announce(message)
    return
  }
  const alert = form.querySelector('.form-alert')
  if (alert) {
    replace(alert, h('div', { class: 'alert error', role: 'alert' }, message))
  }
}

/**
 * @typedef {{ field: string, message: string }} FieldProblem
 */

/**
 * Shows every problem a check before sending found, each at its field and all at once, so a person
 * fixes the whole form in one go rather than one refusal at a time. The first field gets the focus;
 * with more than one problem the form's alert box says how many. Returns whether there were any.
 * @param {HTMLFormElement} form
 * @param {FieldProblem[]} problems
 * @returns {boolean}
 */
export function showFieldErrors(form, problems) {
  clearFormErrors(form)
  if (problems.length === 0) return false
  /** @type {HTMLElement | null} */
  let first = null
  /** @type {string[]} */
  const elsewhere = []
  for (const problem of problems) {
    const control = markField(form, problem.field, problem.message)
    if (control) first ??= control
    else elsewhere.push(problem.message)
  }
  const alert = form.querySelector('.form-alert')
  const count = problems.length
  if (alert && (count > 1 || elsewhere.length > 0)) {
    replace(
      alert,
      h('div', { class: 'alert error', role: 'alert', 'data-problems': String(count) }, count > 1 ? `${count} things to fix before this can be saved: each is marked at its field.` : null, elsewhere.map((text) => h('p', { class: 'flush' }, text))),
    )
  }
  first?.focus()
  announce(count > 1 ? `${count} things to fix; the first: ${problems[0]?.message}` : (problems[0]?.message ?? ''))
  return true
}

/** Removes the errors `showFormError` put on `form`. */
export function clearFormErrors(/** @type {HTMLFormElement} */ form) {
  for (const slot of form.querySelectorAll('.field-error')) slot.textContent = ''
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid')
  const alert = form.querySelector('.form-alert')
  if (alert) alert.replaceChildren()
}

/**
 * A button that copies `text`, and says so.
 * @param {string} text
 * @param {string} what  what is copied, for the accessible name ("webhook URL")
 */
export function copyButton(text, what) {
  const button = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Copy ${what}` }, 'Copy')
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text)
    } catch {
      // Without clipboard permission (plain http on another host): select the text for Ctrl+C instead.
      const code = button.previousElementSibling
      if (code) getSelection()?.selectAllChildren(code)
      announce(`Select and copy the ${what} with Ctrl+C`)
      return
    }
    button.textContent = 'Copied'
    announce(`${what} copied`)
    setTimeout(() => (button.textContent = 'Copy'), 2000)
  })
  return button
}

/**
 * A time for people: "14:05" today, "3 Mar, 14:05" otherwise, in a <time> element.
 * @param {string | null | undefined} iso
 */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'meta' }, 'never')
  const date = new Date(iso)
  const today = new Date().toDateString() === date.toDateString()
  const text = today
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
  return h('time', { datetime: iso, title: date.toLocaleString() }, text)
}

/**
 * Disables a button while `work` runs.
 * @template T
 * @param {HTMLButtonElement | HTMLElement | null} button
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function busy(button, work) {
  if (button) button.setAttribute('disabled', '')
  try {
    return await work()
  } finally {
    if (button) button.removeAttribute('disabled')
  }
}
