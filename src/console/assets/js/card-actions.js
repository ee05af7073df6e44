// @ts-check
/**
 * What the cards of providers, bots and channels share: a deletion asked for in place (no browser
 * dialog: it can be read, tabbed through and tested like the rest of the page), a rename form that opens
 * under the card's buttons, and the words for a 409 "still in use" answer with what to do about it.
 */
import { listAll } from './api.js'
import { busy, field, h, replace, showFieldErrors, showFormError } from './dom.js'

/**
 * @typedef {import('./api.js').ChannelDto} ChannelDto
 */

/**
 * A Delete button and the question it opens in place: what goes, then a button that deletes and one
 * that keeps it. `onDelete` does the work; an error it throws is shown in the box (a 409 explained by
 * `explain`, when given), which stays open.
 * @param {{ label?: string, question: string, confirm: string, onDelete: () => Promise<void>,
 *   explain?: (error: unknown) => Promise<Node>, keep?: string, group?: string }} spec
 */
export function deleteInPlace(spec) {
  const problem = h('div', { 'data-delete-problem': true })
  const reallyDelete = h('button', { type: 'button', class: 'danger small' }, spec.confirm)
  const keep = h('button', { type: 'button', class: 'secondary small' }, spec.keep ?? 'Keep it')
  const box = h('div', { class: 'alert warn confirm', hidden: true, role: 'group', 'aria-label': spec.group ?? 'Confirm deletion' }, h('p', {}, spec.question), h('div', { class: 'row' }, reallyDelete, keep), problem)
  const button = h('button', { type: 'button', class: 'danger small', 'aria-expanded': 'false' }, spec.label ?? 'Delete')
  const show = (/** @type {boolean} */ open) => {
    box.hidden = !open
    button.setAttribute('aria-expanded', String(open))
    if (!open) problem.replaceChildren()
  }
  button.addEventListener('click', () => {
    show(box.hidden)
    if (!box.hidden) reallyDelete.focus()
  })
  keep.addEventListener('click', () => {
    show(false)
    button.focus()
  })
  reallyDelete.addEventListener('click', () =>
    busy(reallyDelete, async () => {
      try {
        await spec.onDelete()
      } catch (error) {
        const node = spec.explain ? await spec.explain(error) : h('p', {}, /** @type {Error} */ (error).message)
        replace(problem, h('div', { class: 'alert error', role: 'alert' }, node))
        keep.focus()
      }
    }),
  )
  return { button, box }
}

/**
 * A Rename button and its form: one Name field, saved by `onSave` (an API error shows at the field).
 * @param {{ current: string, what: string, onSave: (name: string) => Promise<void> }} spec
 */
export function renameInPlace(spec) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack rename', novalidate: true, hidden: true },
      field({ label: `New name of ${spec.what}`, name: 'name', value: spec.current, required: true }),
      h('div', { class: 'form-alert' }),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save name'), h('button', { type: 'button', class: 'quiet', 'data-cancel': true }, 'Cancel')),
    )
  )
  const button = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false' }, 'Rename')
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('name'))
  const show = (/** @type {boolean} */ open) => {
    form.hidden = !open
    button.setAttribute('aria-expanded', String(open))
    if (open) {
      input.focus()
      input.select()
    }
  }
  button.addEventListener('click', () => show(form.hidden))
  form.querySelector('[data-cancel]')?.addEventListener('click', () => {
    show(false)
    button.focus()
  })
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const name = input.value.trim()
    if (showFieldErrors(form, name === '' ? [{ field: 'name', message: 'Type a name: it is how the console and the API list it.' }] : [])) return
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        await spec.onSave(name)
      } catch (error) {
        showFormError(form, error)
      }
    })
  })
  return { button, form }
}

/**
 * The words for a refused deletion. A 409 `in_use` gets the API's sentence, then the channels that
 * hold the resource (each a link to the Channels page), so the person sees what to move or delete first.
 * @param {unknown} error
 * @param {(channel: ChannelDto) => boolean} holds  which channels use the resource
 * @param {(one: boolean) => string} todo  what to do with them, for one channel or several ("Delete it")
 * @returns {Promise<Node>}
 */
export async function inUseExplanation(error, holds, todo) {
  const apiError = /** @type {{ status?: number, code?: string, message: string }} */ (error)
  if (apiError.status !== 409) return h('p', { class: 'flush' }, apiError.message)
  /** @type {ChannelDto[]} */
  let holders = []
  try {
    holders = (await listAll('/api/channels')).items.filter(holds)
  } catch {
    // The API's sentence alone still says what to do.
  }
  return h(
    'div',
    { 'data-code': apiError.code ?? '' },
    h('p', { class: 'flush' }, apiError.message),
    holders.length > 0
      ? [
          h('p', { class: 'flush' }, holders.length === 1 ? 'The channel that uses it:' : `The ${holders.length} channels that use it:`),
          h('ul', { class: 'plain' }, holders.map((c) => h('li', {}, `${c.name} (${c.number})`))),
          h('p', { class: 'flush' }, `${todo(holders.length === 1)} on the `, h('a', { href: '/console/channels', 'data-nav': true }, 'Channels'), ' page, then delete this one here.'),
        ]
      : null,
  )
}


/**
 * After a card was drawn again (its buttons are new elements), puts the keyboard on its heading, so a
 * person continues where they were rather than at the top of the page.
 * @param {HTMLElement} list
 * @param {string} selector  the card
 */
export function focusCard(list, selector) {
  const heading = /** @type {HTMLElement | null} */ (list.querySelector(`${selector} h3`))
  if (!heading) return
  heading.setAttribute('tabindex', '-1')
  heading.focus()
}
