// @ts-check
/**
 * Event webhooks: the team's subscriptions to its events (`/api/webhooks`). Create one (a URL, the
 * event types it wants, an optional signing secret; the secret is shown once, when it is made), turn
 * one off and on, change its events, delete it, and see its recent deliveries: when, which event, which
 * attempt, what the receiver answered and how long it took, or why nothing came back.
 */
import { api, listAll } from '../api.js'
import { announce, busy, clearFormErrors, copyButton, field, h, replace, showFieldErrors, showFormError, timeEl, uid } from '../dom.js'

/**
 * @typedef {import('../api.js').WebhookDto} WebhookDto
 * @typedef {import('../api.js').WebhookDeliveryDto} WebhookDeliveryDto
 */

/** The event types (the API's list), each with what it reports. */
const EVENT_TYPES = /** @type {const} */ ([
  ['message.received', 'a person wrote'],
  ['message.sent', 'a message left for WhatsApp'],
  ['message.delivered', 'it reached their phone'],
  ['message.read', 'they read it'],
  ['message.failed', 'a message could not be handled or delivered'],
  ['conversation.handover', 'a conversation went to a person or back to the bot'],
  ['broadcast.finished', 'a broadcast ended'],
  ['provider.health_changed', 'a provider started or stopped working'],
  ['bot.health_changed', 'a bot started or stopped answering'],
])

/** How often open delivery lists are read again. */
const DELIVERIES_POLL_MS = 3000
/** Deliveries a list shows. */
const DELIVERIES_SHOWN = 50

/**
 * A checkbox per event type, in a fieldset; `checked` ticks some.
 * @param {string} legend
 * @param {readonly string[]} checked
 */
function eventChecks(legend, checked) {
  const id = uid('events')
  return h(
    'fieldset',
    { class: 'group events', 'data-field': 'events', 'aria-describedby': `${id}-error` },
    h('legend', {}, legend),
    h(
      'div',
      { class: 'event-checks' },
      EVENT_TYPES.map(([type, words]) => {
        const boxId = uid('event')
        return h(
          'div',
          { class: 'check' },
          h('input', { type: 'checkbox', id: boxId, name: 'events', value: type, checked: checked.includes(type) }),
          h('label', { for: boxId }, h('code', {}, type), h('span', { class: 'meta' }, ` ${words}`)),
        )
      }),
    ),
    h('span', { class: 'field-error', id: `${id}-error` }),
  )
}

/** The event types ticked in `form`, in the API's order. */
function checkedEvents(/** @type {HTMLFormElement} */ form) {
  return [...form.querySelectorAll('input[name="events"]')].filter((box) => /** @type {HTMLInputElement} */ (box).checked).map((box) => /** @type {HTMLInputElement} */ (box).value)
}

/** An API field (`events[2]`, `url`) as the form's field. */
function formField(/** @type {string | undefined} */ at) {
  if (!at) return undefined
  return at.startsWith('events') ? 'events' : at
}

/** The receiver's answer as a badge: 2xx done, anything else (or no answer) not. */
function answerBadge(/** @type {WebhookDeliveryDto} */ delivery) {
  if (delivery.status_code === null) return h('span', { class: 'badge bad' }, 'No answer')
  const ok = delivery.status_code >= 200 && delivery.status_code < 300
  return h('span', { class: `badge ${ok ? 'ok' : 'bad'}` }, String(delivery.status_code))
}

/**
 * A subscription's recent deliveries, read when opened and every few seconds while open.
 * @param {WebhookDto} webhook
 */
function deliveriesPanel(webhook) {
  const box = h('div', {}, h('p', { class: 'meta' }, 'Loading…'))
  const details = /** @type {HTMLDetailsElement} */ (h('details', { class: 'deliveries', 'data-deliveries': webhook.id }, h('summary', {}, 'Recent deliveries'), box))
  let signature = ''
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let timer
  const load = async () => {
    try {
      const answer = await api('GET', `/api/webhooks/${encodeURIComponent(webhook.id)}/deliveries?limit=${DELIVERIES_SHOWN}`)
      /** @type {WebhookDeliveryDto[]} */
      const items = answer.data
      const next = items.map((d) => d.id).join(',')
      if (next === signature) return
      signature = next
      if (items.length === 0) {
        replace(box, h('p', { class: 'empty' }, webhook.enabled ? 'Nothing delivered yet: events show here once one of its types happens.' : 'Nothing delivered yet. It is turned off: events are not sent to it.'))
        return
      }
      replace(
        box,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'data', 'aria-label': `Recent deliveries to ${webhook.url}` },
            h(
              'thead',
              {},
              h('tr', {}, ['Time', 'Event', 'Attempt', 'Answer', 'Took', 'Error'].map((title) => h('th', { scope: 'col', class: title === 'Attempt' || title === 'Took' ? 'num' : false }, title))),
            ),
            h(
              'tbody',
              {},
              items.map((d) =>
                h(
                  'tr',
                  { 'data-delivery': d.id, 'data-event-type': d.event_type },
                  h('td', {}, timeEl(d.created_at)),
                  h('td', {}, h('code', {}, d.event_type)),
                  h('td', { class: 'num' }, String(d.attempt)),
                  h('td', {}, answerBadge(d)),
                  h('td', { class: 'num' }, `${d.duration_ms} ms`),
                  h('td', { class: 'delivery-error' }, d.error ?? '—'),
                ),
              ),
            ),
          ),
        ),
        answer.next_cursor ? h('p', { class: 'meta' }, `The latest ${DELIVERIES_SHOWN}.`) : null,
      )
    } catch (error) {
      signature = ''
      replace(box, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
    }
  }
  details.addEventListener('toggle', () => {
    clearInterval(timer)
    if (!details.open) return
    void load()
    timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load()
    }, DELIVERIES_POLL_MS)
  })
  return { element: details, stop: () => clearInterval(timer) }
}

/**
 * One subscription: its URL, events and state, with its actions and deliveries.
 * @param {WebhookDto} webhook
 * @param {{ onChanged: (message: string) => Promise<void>, onStop: (stop: () => void) => void }} options
 */
function webhookCard(webhook, options) {
  const note = h('div', { role: 'status' })
  const fail = (/** @type {unknown} */ error) => replace(note, h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message))

  const toggle = h('button', { type: 'button', class: 'secondary small' }, webhook.enabled ? 'Disable' : 'Enable')
  toggle.addEventListener('click', () =>
    busy(toggle, async () => {
      try {
        await api('PATCH', `/api/webhooks/${encodeURIComponent(webhook.id)}`, { enabled: !webhook.enabled })
        await options.onChanged(webhook.enabled ? `Turned off: events no longer go to ${webhook.url}.` : `Turned on: events go to ${webhook.url} again.`)
      } catch (error) {
        fail(error)
      }
    }),
  )

  // Editing the events: a form that opens in place.
  const editForm = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true, hidden: true, 'data-edit-events': webhook.id },
      eventChecks('Events it receives', webhook.events),
      h('div', { class: 'form-alert' }),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save events'), h('button', { type: 'button', class: 'quiet', 'data-cancel': true }, 'Cancel')),
    )
  )
  const edit = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false' }, 'Edit events')
  const showEdit = (/** @type {boolean} */ open) => {
    editForm.hidden = !open
    edit.setAttribute('aria-expanded', String(open))
    if (open) /** @type {HTMLInputElement | null} */ (editForm.querySelector('input'))?.focus()
  }
  edit.addEventListener('click', () => showEdit(editForm.hidden))
  editForm.querySelector('[data-cancel]')?.addEventListener('click', () => {
    showEdit(false)
    edit.focus()
  })
  editForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(editForm)
    const events = checkedEvents(editForm)
    if (events.length === 0) return showFormError(editForm, { message: 'Tick at least one event; to stop all of them, disable the subscription instead.', field: 'events' })
    await busy(editForm.querySelector('button[type=submit]'), async () => {
      try {
        await api('PATCH', `/api/webhooks/${encodeURIComponent(webhook.id)}`, { events })
        await options.onChanged(`Saved: ${webhook.url} receives ${events.length} event type${events.length === 1 ? '' : 's'}.`)
      } catch (error) {
        const apiError = /** @type {{ message: string, field?: string }} */ (error)
        const at = formField(apiError.field)
        showFormError(editForm, { message: apiError.message, ...(at ? { field: at } : {}) })
      }
    })
  })

  // Deleting asks first, in place.
  const confirmBox = h('div', { class: 'alert warn confirm', hidden: true, role: 'group', 'aria-label': 'Confirm deletion' })
  const remove = h('button', { type: 'button', class: 'danger small' }, 'Delete')
  const reallyDelete = h('button', { type: 'button', class: 'danger small' }, 'Delete subscription')
  const keep = h('button', { type: 'button', class: 'secondary small' }, 'Keep it')
  replace(confirmBox, h('p', {}, `Delete the subscription to ${webhook.url}? Events stop going there, and its delivery history goes with it.`), h('div', { class: 'row' }, reallyDelete, keep))
  remove.addEventListener('click', () => {
    confirmBox.hidden = false
    reallyDelete.focus()
  })
  keep.addEventListener('click', () => {
    confirmBox.hidden = true
    remove.focus()
  })
  reallyDelete.addEventListener('click', () =>
    busy(reallyDelete, async () => {
      try {
        await api('DELETE', `/api/webhooks/${encodeURIComponent(webhook.id)}`)
        await options.onChanged(`Deleted the subscription to ${webhook.url}.`)
      } catch (error) {
        fail(error)
      }
    }),
  )

  const deliveries = deliveriesPanel(webhook)
  options.onStop(deliveries.stop)
  return h(
    'li',
    { class: `card webhook${webhook.enabled ? '' : ' disabled'}`, 'data-webhook': webhook.id },
    h(
      'div',
      { class: 'card-head' },
      h('h3', { class: 'webhook-url' }, h('code', {}, webhook.url)),
      h('span', { class: `badge ${webhook.enabled ? 'ok' : 'warn'}`, 'data-enabled': String(webhook.enabled) }, webhook.enabled ? 'Enabled' : 'Disabled'),
    ),
    webhook.description ? h('p', {}, webhook.description) : null,
    h('p', { class: 'event-list' }, webhook.events.map((type) => h('code', { class: 'event-chip' }, type))),
    h('p', { class: 'meta' }, 'Signing secret ', h('code', {}, webhook.secret), ' · created ', timeEl(webhook.created_at)),
    h('div', { class: 'row' }, toggle, edit, remove),
    editForm,
    confirmBox,
    note,
    deliveries.element,
  )
}

/**
 * The form of a new subscription; `onCreated` gets the answer, whose secret is the only full copy.
 * @param {(created: WebhookDto) => Promise<void>} onCreated
 */
function newWebhookForm(onCreated) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack wide', novalidate: true },
      field({ label: 'URL', name: 'url', type: 'url', required: true, placeholder: 'https://example.com/switchboard-events', hint: 'Each event is POSTed here as JSON. Redirects are not followed.' }),
      eventChecks('Events', []),
      field({ label: 'Description (optional)', name: 'description', hint: 'For you: what listens there.' }),
      field({
        label: 'Signing secret (optional)',
        name: 'secret',
        type: 'password',
        autocomplete: 'new-password',
        hint: 'Leave empty to have one made. Given: 16 to 256 characters. Each request carries X-Switchboard-Signature: sha256=<HMAC-SHA256 of the body with it>.',
      }),
      h('div', { class: 'form-alert' }),
      h('div', {}, h('button', { type: 'submit' }, 'Create subscription')),
    )
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(form)
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim()
    const url = value('url')
    const events = checkedEvents(form)
    /** @type {import('../dom.js').FieldProblem[]} */
    const problems = []
    if (url === '') problems.push({ message: 'Give the URL your system listens on.', field: 'url' })
    if (events.length === 0) problems.push({ message: 'Tick at least one event.', field: 'events' })
    if (showFieldErrors(form, problems)) return
    const secret = /** @type {HTMLInputElement} */ (form.elements.namedItem('secret')).value
    const description = value('description')
    await busy(form.querySelector('button[type=submit]'), async () => {
      try {
        /** @type {WebhookDto} */
        const created = await api('POST', '/api/webhooks', { url, events, ...(secret ? { secret } : {}), ...(description ? { description } : {}) })
        form.reset()
        await onCreated(created)
      } catch (error) {
        const apiError = /** @type {{ message: string, field?: string }} */ (error)
        const at = formField(apiError.field)
        showFormError(form, { message: apiError.message, ...(at ? { field: at } : {}) })
      }
    })
  })
  return form
}

/** @param {import('../main.js').PageContext} context */
export async function renderWebhooks({ main }) {
  const listBox = h('ul', { class: 'list webhooks', 'aria-label': 'Subscriptions' })
  const pageNote = h('div', { role: 'status' })
  /** The full secret of the subscription just made: shown here once, gone on the next page visit. */
  const secretBox = h('div', { 'data-secret-once': true })
  /** @type {Array<() => void>} */
  let stops = []
  const load = async () => {
    for (const stop of stops) stop()
    stops = []
    const { items, complete } = await listAll('/api/webhooks')
    if (items.length === 0) {
      replace(listBox, h('li', { class: 'empty' }, 'No subscriptions yet: create one below to have events sent to your system.'))
      return
    }
    replace(
      listBox,
      items.map((/** @type {WebhookDto} */ webhook) =>
        webhookCard(webhook, {
          onChanged: async (message) => {
            replace(secretBox)
            replace(pageNote, h('div', { class: 'alert ok' }, message))
            announce(message)
            await load()
          },
          onStop: (stop) => stops.push(stop),
        }),
      ),
      complete ? null : h('li', { class: 'meta' }, 'Showing the first 1,000 subscriptions.'),
    )
  }

  const form = newWebhookForm(async (created) => {
    replace(pageNote)
    replace(
      secretBox,
      h(
        'div',
        { class: 'alert ok secret-once', role: 'status' },
        h('p', { class: 'flush' }, h('strong', {}, `Subscribed ${created.url} to ${created.events.length} event type${created.events.length === 1 ? '' : 's'}.`)),
        h('p', {}, 'Its signing secret, shown only this once: copy it into your receiver now. Later it shows masked, and a new one can only be set.'),
        h('div', { class: 'copy-row' }, h('code', { 'data-secret': true }, created.secret), copyButton(created.secret, 'signing secret')),
      ),
    )
    announce('Subscription created. Copy its signing secret now: it is shown only once.')
    await load()
  })

  await load()
  replace(
    main,
    h('h1', {}, 'Event webhooks'),
    h(
      'p',
      { class: 'lead' },
      'Tell your own systems what happens as it happens: messages in and out with their delivery status, handovers between the bot and a person, finished broadcasts, providers and bots that stop working. ',
      'Each event is POSTed as JSON, signed with the subscription’s secret, and retried for up to 24 hours until your system answers 2xx.',
    ),
    h('section', { 'aria-labelledby': 'webhook-list' }, h('h2', { id: 'webhook-list' }, 'Subscriptions'), pageNote, listBox),
    h('section', { class: 'card new-webhook', 'aria-labelledby': 'new-webhook' }, h('h2', { id: 'new-webhook', class: 'flush' }, 'New subscription'), form, secretBox),
  )
  return () => {
    for (const stop of stops) stop()
  }
}
