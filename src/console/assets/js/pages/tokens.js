// @ts-check
/**
 * API tokens of a team: who holds which (names and roles, never the tokens), a new token shown once
 * with a copy button, and revoking one (asked in place). Only admin tokens may do this: a member's list
 * answers 403 and the page says so in the API's words.
 *
 * Which team: `GET /api/teams` answers a token's own team; for the operator (an admin of the default
 * team) every team, and then a picker chooses whose tokens to manage (that is how a new team gets its
 * first token), starting with the operator's own team.
 */
import { api, listAll } from '../api.js'
import { deleteInPlace } from '../card-actions.js'
import { announce, busy, copyButton, field, h, replace, showFieldErrors, showFormError, timeEl } from '../dom.js'

/**
 * @typedef {import('../api.js').TeamDto} TeamDto
 * @typedef {import('../api.js').TokenDto} TokenDto
 */

/** The team the operator's own tokens belong to (store/repos/teams.ts). */
const DEFAULT_TEAM_ID = 'team_default'

const ROLE_WORDS = /** @type {Record<string, string>} */ ({
  admin: 'Admin: everything, including providers, bots, channels, event webhooks and tokens.',
  member: 'Member: reads everything, sends messages and broadcasts, hands conversations over and retries failed work.',
})

/**
 * One token: its name, role and state, and Revoke for an active one.
 * @param {TokenDto} token
 * @param {(note: string) => Promise<void>} onRevoked
 */
function tokenItem(token, onRevoked) {
  const revoked = token.revoked_at !== null
  const revoke = revoked
    ? null
    : deleteInPlace({
        label: 'Revoke',
        question: `Revoke “${token.name}”? Every program and person using it is refused from now on (401), and it cannot be turned on again. If it is the token this console signed in with, the console signs out.`,
        confirm: 'Revoke token',
        group: 'Confirm revocation',
        onDelete: async () => {
          await api('DELETE', `/api/tokens/${encodeURIComponent(token.id)}`)
          await onRevoked(`Revoked “${token.name}”.`)
        },
      })
  return h(
    'li',
    { class: `token${revoked ? ' revoked' : ''}`, 'data-token': token.id, 'data-revoked': String(revoked) },
    h(
      'div',
      { class: 'token-line' },
      h('span', { class: 'token-name' }, token.name),
      h('span', { class: `badge ${token.role === 'admin' ? 'human' : ''}` }, token.role === 'admin' ? 'Admin' : 'Member'),
      h('span', { class: 'meta' }, 'created ', timeEl(token.created_at)),
      revoked ? h('span', { class: 'meta' }, h('span', { class: 'badge bad' }, 'Revoked'), ' ', timeEl(token.revoked_at)) : null,
      revoke ? h('span', { class: 'token-action' }, revoke.button) : null,
    ),
    revoke?.box ?? null,
  )
}

/**
 * The form of a new token; `onCreated` gets the answer, whose `token` is the only copy there will be.
 * @param {string} teamId
 * @param {(created: TokenDto) => Promise<void>} onCreated
 */
function createForm(teamId, onCreated) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      field({ label: 'Name', name: 'name', required: true, hint: 'Who or what uses it, e.g. “CRM sync” or “Ana (support)”, so you know what to revoke later.' }),
      field({
        label: 'Role',
        name: 'role',
        value: 'member',
        hint: `${ROLE_WORDS.member} ${ROLE_WORDS.admin}`,
        options: [
          { value: 'member', label: 'Member' },
          { value: 'admin', label: 'Admin' },
        ],
      }),
      h('div', { class: 'form-alert' }),
      h('div', {}, h('button', { type: 'submit' }, 'Create token')),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const name = /** @type {HTMLInputElement} */ (form.elements.namedItem('name')).value.trim()
    const role = /** @type {HTMLSelectElement} */ (form.elements.namedItem('role')).value
    /** @type {import('../dom.js').FieldProblem[]} */
    const problems = []
    if (name === '') problems.push({ field: 'name', message: 'Give the token a name: who or what will use it.' })
    if (role !== 'admin' && role !== 'member') problems.push({ field: 'role', message: 'Choose admin or member.' })
    if (showFieldErrors(form, problems)) return
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        await onCreated(await api('POST', `/api/teams/${encodeURIComponent(teamId)}/tokens`, { name, role }))
      } catch (error) {
        showFormError(form, error)
      }
    })
  })
  return form
}

/**
 * The new token, in full this once, with a copy button and what to do with it.
 * @param {TokenDto} created
 */
function tokenOnce(created) {
  const token = created.token ?? ''
  return h(
    'div',
    { class: 'alert ok secret-once', role: 'status', 'data-new-token': created.id },
    h('p', { class: 'flush' }, h('strong', {}, `Token “${created.name}” created (${created.role}).`), ' Copy it now: it is shown only this once, and the gateway keeps only a hash of it.'),
    h('div', { class: 'copy-row' }, h('code', { class: 'token-value' }, token), copyButton(token, 'token')),
    h('p', { class: 'meta' }, 'Give it to its program as “Authorization: Bearer <token>”, or paste it at this console’s sign-in. Lost it? Revoke it below and create another.'),
  )
}

/** @param {import('../main.js').PageContext} context */
export async function renderTokens({ main, params, navigate }) {
  /** @type {TeamDto[]} */
  const teams = (await listAll('/api/teams')).items
  const own = teams.find((t) => t.id === DEFAULT_TEAM_ID) ?? teams[0]
  const team = teams.find((t) => t.id === params.get('team')) ?? own
  const heading = h('h1', {}, 'API tokens')
  const lead = h(
    'p',
    { class: 'lead' },
    'Tokens let programs and people use the admin API and this console. An admin token may do everything, including managing tokens; a member token reads everything, sends messages, hands conversations over and retries failed work.',
  )
  if (!team) {
    replace(main, heading, lead, h('div', { class: 'alert error', role: 'alert' }, 'This token sees no team. Sign in with a token of your team.'))
    return
  }

  const picker =
    teams.length > 1
      ? field({ label: 'Team', name: 'team', value: team.id, options: teams.map((t) => ({ value: t.id, label: t.id === DEFAULT_TEAM_ID ? `${t.name} (yours)` : t.name })), hint: 'As the operator you manage the tokens of every team; a new team gets its first token here.' })
      : null
  picker?.querySelector('select')?.addEventListener('change', (event) => {
    const id = /** @type {HTMLSelectElement} */ (event.target).value
    navigate(`/console/tokens${id === own?.id ? '' : `?team=${encodeURIComponent(id)}`}`)
  })

  const listBox = h('ul', { class: 'list tokens', 'aria-label': `Tokens of ${team.name}` })
  const notice = h('div', { role: 'status' })
  const load = async () => {
    /** @type {TokenDto[]} */
    const items = (await listAll(`/api/teams/${encodeURIComponent(team.id)}/tokens`)).items
    // Active tokens first (what can still be used), then revoked ones, each oldest first.
    const sorted = [...items.filter((t) => t.revoked_at === null), ...items.filter((t) => t.revoked_at !== null)]
    if (sorted.length === 0) replace(listBox, h('li', { class: 'empty' }, 'No tokens yet.'))
    else {
      replace(
        listBox,
        sorted.map((token) =>
          tokenItem(token, async (note) => {
            replace(notice, h('div', { class: 'alert ok' }, note))
            announce(note)
            await load()
          }),
        ),
      )
    }
  }
  try {
    await load()
  } catch (error) {
    // A member token may not list tokens (403): the API's sentence says so and who to ask.
    replace(main, heading, lead, picker, h('div', { class: 'alert error', role: 'alert', 'data-code': /** @type {{ code?: string }} */ (error).code ?? '' }, /** @type {Error} */ (error).message))
    return
  }

  const createBox = h('div', { class: 'card' })
  const resetCreate = () =>
    replace(
      createBox,
      createForm(team.id, async (created) => {
        replace(notice, tokenOnce(created))
        announce(`Token ${created.name} created; copy it now, it is shown only once`)
        resetCreate()
        await load()
        notice.scrollIntoView({ block: 'nearest' })
        const copy = /** @type {HTMLElement | null} */ (notice.querySelector('button'))
        copy?.focus()
      }),
    )
  resetCreate()

  replace(
    main,
    heading,
    lead,
    picker ? h('div', { class: 'card inbox-filter' }, picker) : null,
    notice,
    h('h2', {}, `Tokens of ${team.name}`),
    h('div', { class: 'card' }, listBox),
    h('h2', {}, 'Create a token'),
    createBox,
  )
}
