// @ts-check
/**
 * Broadcasts: one approved template to many people of a channel. Pick the channel and the template, fill
 * the parameters everyone gets, paste or upload the recipients as CSV and see the first rows and what
 * looks wrong before sending; then watch the broadcast go out (a progress bar with the counts and the
 * provider's errors grouped), cancel what is not sent yet, and find past broadcasts below.
 */
import { api, listAll } from '../api.js'
import { announce, busy, clearFormErrors, field, h, replace, showFieldErrors, showFormError, timeEl, uid } from '../dom.js'
import { readRecipients } from '../csv.js'
import { loadTemplates, paramExample, paramLabel, templateKey, templateTitle } from '../templates.js'

/**
 * @typedef {import('../api.js').ChannelDto} ChannelDto
 * @typedef {import('../api.js').ProviderDto} ProviderDto
 * @typedef {import('../api.js').TemplateDto} TemplateDto
 * @typedef {import('../api.js').BroadcastDto} BroadcastDto
 * @typedef {import('../api.js').BroadcastRecipientDto} BroadcastRecipientDto
 * @typedef {import('../csv.js').CsvReading} CsvReading
 */

/** How often a running broadcast is read again. */
const POLL_MS = 1000
/** Rows the preview shows. */
const PREVIEW_ROWS = 5
/** Skipped rows the preview lists before it only counts them. */
const PREVIEW_SKIPPED = 10

/** Each recipient counts once, at their latest state: the bar's segments in order, and their words. */
const SEGMENTS = /** @type {const} */ ([
  ['read', 'Read'],
  ['delivered', 'Delivered'],
  ['sent', 'Sent'],
  ['failed', 'Failed'],
  ['skipped', 'Skipped'],
  ['cancelled', 'Cancelled'],
  ['queued', 'Waiting'],
])

const STATUS_WORDS = /** @type {Record<string, { words: string, tone: string }>} */ ({
  running: { words: 'Sending', tone: 'warn' },
  finished: { words: 'Finished', tone: 'ok' },
  cancelled: { words: 'Cancelled', tone: 'bad' },
})

/** Why the gateway skipped a recipient, in words. */
const REASON_WORDS = /** @type {Record<string, string>} */ ({
  invalid_number: 'not a valid WhatsApp number',
  duplicate: 'already in the list',
  opted_out: 'opted out of this channel',
  params_mismatch: 'parameters missing or not fitting the template',
})

function statusBadge(/** @type {string} */ status) {
  const known = STATUS_WORDS[status] ?? { words: status, tone: 'warn' }
  return h('span', { class: `badge ${known.tone}` }, known.words)
}

const number = (/** @type {number} */ n) => n.toLocaleString('en')

/**
 * The progress bar: one segment per state, widths by count; the accessible value is how many are done.
 * @param {BroadcastDto['counts']} counts
 */
function progressBar(counts) {
  const done = counts.total - counts.queued
  const bar = h('div', {
    class: 'progress',
    role: 'progressbar',
    'aria-label': 'Progress',
    'aria-valuemin': '0',
    'aria-valuemax': String(counts.total),
    'aria-valuenow': String(done),
    'aria-valuetext': `${number(done)} of ${number(counts.total)} handled`,
  })
  for (const [key] of SEGMENTS) {
    const count = counts[key]
    if (count === 0 || key === 'queued') continue
    const segment = h('span', { class: `segment seg-${key}` })
    // Through the CSSOM: the page's policy refuses style attributes.
    segment.style.width = `${(100 * count) / Math.max(1, counts.total)}%`
    bar.appendChild(segment)
  }
  return bar
}

/** @param {BroadcastDto['counts']} counts */
function countList(counts) {
  return h(
    'dl',
    { class: 'counts' },
    h('div', {}, h('dt', {}, 'Total'), h('dd', { 'data-count': 'total' }, number(counts.total))),
    SEGMENTS.map(([key, words]) => h('div', {}, h('dt', {}, h('span', { class: `swatch seg-${key}`, 'aria-hidden': 'true' }), words), h('dd', { 'data-count': key }, number(counts[key])))),
  )
}

/**
 * Recipients of one state, read when the person opens the list, and again when the count changes
 * while it is open. The element outlives the broadcast's redraws, so it stays open.
 * @param {string} broadcastId
 * @param {'skipped' | 'failed'} status
 */
function recipientList(broadcastId, status) {
  const box = h('div', {}, h('p', { class: 'meta' }, 'Loading…'))
  const summary = h('summary', {})
  const details = /** @type {HTMLDetailsElement} */ (h('details', { 'data-recipients': status }, summary, box))
  let loadedCount = -1
  let count = 0
  const load = async () => {
    if (!details.open || loadedCount === count) return
    loadedCount = count
    try {
      const answer = await api('GET', `/api/broadcasts/${encodeURIComponent(broadcastId)}/recipients?status=${status}&limit=200`)
      /** @type {BroadcastRecipientDto[]} */
      const items = answer.data
      replace(
        box,
        h(
          'ul',
          { class: 'plain' },
          items.map((r) =>
            h(
              'li',
              {},
              h('span', { class: 'mono' }, r.to || '(empty)'),
              ': ',
              status === 'skipped' ? (REASON_WORDS[r.reason ?? ''] ?? r.reason ?? 'skipped') : r.error ? `${r.error.code}: ${r.error.message}` : 'failed',
            ),
          ),
        ),
        answer.next_cursor ? h('p', { class: 'meta' }, 'Showing the first 200.') : null,
      )
    } catch (error) {
      replace(box, h('div', { class: 'alert error' }, /** @type {Error} */ (error).message))
    }
  }
  details.addEventListener('toggle', () => void load())
  return {
    element: details,
    /** @param {number} next */
    update(next) {
      count = next
      summary.textContent = `${status === 'skipped' ? 'Skipped' : 'Failed'} recipients (${number(next)})`
      void load()
      return next > 0 ? details : null
    },
  }
}

/**
 * One broadcast, live: read again every second while it runs.
 * @param {string} broadcastId
 * @param {{ onChange: (broadcast: BroadcastDto) => void }} options
 */
function liveBroadcast(broadcastId, options) {
  const section = h('section', { class: 'card', 'aria-labelledby': 'broadcast-heading', 'data-broadcast': broadcastId })
  const actionNote = h('div', { role: 'status' })
  let stopped = false
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  let lastStatus = ''
  let signature = ''
  const skippedList = recipientList(broadcastId, 'skipped')
  const failedList = recipientList(broadcastId, 'failed')

  /** @param {BroadcastDto} broadcast */
  const draw = (broadcast) => {
    const next = JSON.stringify([broadcast.status, broadcast.counts, broadcast.errors])
    if (next === signature) return
    signature = next
    const counts = broadcast.counts
    const template = /** @type {{ name?: string, language?: string }} */ (broadcast.message)
    const cancelButton =
      broadcast.status === 'running'
        ? h('button', { type: 'button', class: 'danger small' }, 'Cancel the rest')
        : null
    cancelButton?.addEventListener('click', () =>
      busy(cancelButton, async () => {
        try {
          await api('POST', `/api/broadcasts/${encodeURIComponent(broadcastId)}/cancel`)
          replace(actionNote, h('div', { class: 'alert warn' }, 'Cancelled: recipients not sent yet will not get it. Messages already sent stay sent.'))
          announce('Broadcast cancelled')
          await refresh()
        } catch (error) {
          replace(actionNote, h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message))
        }
      }),
    )
    const focused = document.activeElement
    replace(
      section,
      h('div', { class: 'card-head' }, h('h2', { id: 'broadcast-heading', class: 'flush' }, broadcast.name, ' ', statusBadge(broadcast.status)), cancelButton),
      h(
        'p',
        { class: 'meta' },
        'Template ',
        h('code', {}, template.name ?? '?'),
        template.language ? ` (${template.language})` : '',
        ' · started ',
        timeEl(broadcast.created_at),
        broadcast.finished_at ? [' · ended ', timeEl(broadcast.finished_at)] : '',
      ),
      progressBar(counts),
      h('p', { class: 'progress-words' }, `${number(counts.total - counts.queued)} of ${number(counts.total)} handled`, broadcast.status === 'running' ? ': sending at the channel’s pace.' : '.'),
      countList(counts),
      broadcast.errors.length > 0
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data', 'aria-label': 'Why messages failed' },
              h('caption', {}, 'Why messages failed'),
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Code'), h('th', { scope: 'col' }, 'What the provider said'), h('th', { scope: 'col', class: 'num' }, 'Messages'))),
              h(
                'tbody',
                {},
                broadcast.errors.map((e) => h('tr', {}, h('td', {}, h('code', {}, e.code)), h('td', {}, e.message), h('td', { class: 'num' }, number(e.count)))),
              ),
            ),
          )
        : null,
      actionNote,
      skippedList.update(counts.skipped),
      failedList.update(counts.failed),
    )
    // A redraw keeps the lists' elements; the keyboard focus stays where it was when it was in them.
    if (focused instanceof HTMLElement && focused !== document.activeElement && focused.closest('[data-recipients]')) focused.focus()
  }

  const refresh = async () => {
    try {
      /** @type {BroadcastDto} */
      const broadcast = await api('GET', `/api/broadcasts/${encodeURIComponent(broadcastId)}`)
      if (stopped) return broadcast
      draw(broadcast)
      if (broadcast.status !== lastStatus) {
        if (lastStatus !== '') announce(`Broadcast ${STATUS_WORDS[broadcast.status]?.words.toLowerCase() ?? broadcast.status}`)
        lastStatus = broadcast.status
        options.onChange(broadcast)
      }
      return broadcast
    } catch (error) {
      if (stopped) return null
      const alert = h('div', { class: 'alert error', role: 'alert' }, /** @type {Error} */ (error).message)
      // Before the first drawing there is no heading yet: the section says what went wrong instead.
      if (signature === '') replace(section, h('h2', { id: 'broadcast-heading', class: 'flush' }, 'Broadcast'), alert)
      else replace(actionNote, alert)
      return null
    }
  }
  const loop = async () => {
    const broadcast = await refresh()
    if (stopped) return
    // A finished broadcast still gets delivery and read statuses for a while: look less often.
    const settled = broadcast !== null && broadcast.status !== 'running' && broadcast.counts.sent === 0 && broadcast.counts.queued === 0
    if (!settled) timer = setTimeout(() => void loop(), broadcast?.status === 'running' ? POLL_MS : POLL_MS * 5)
  }
  return {
    element: section,
    start: loop,
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}

/**
 * The form of a new broadcast.
 * @param {ChannelDto} channel
 * @param {TemplateDto[] | null} approved  the provider's approved templates; null when it keeps no list (Turn.io)
 * @param {(broadcast: BroadcastDto) => void} onSent
 */
function newBroadcastForm(channel, approved, onSent) {
  const paramsBox = h('div', { class: 'fields' })
  const csvHint = h('span')
  const previewBox = h('div', { class: 'preview', 'aria-live': 'polite' })
  const submit = h('button', { type: 'submit' }, 'Send broadcast')
  const csvId = uid('f-csv')
  const fileInput = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: `${csvId}-file`, name: 'csv_file', accept: '.csv,text/csv,text/plain' }))
  const csvArea = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { id: csvId, name: 'csv', rows: '7', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': `${csvId}-hint ${csvId}-error`, class: 'mono' })
  )
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack wide', novalidate: true },
      field({ label: 'Name', name: 'name', required: true, hint: 'For you: it names the broadcast in the list below.' }),
      approved === null
        ? h(
            'div',
            { class: 'fields', 'data-typed-template': true },
            field({ label: 'Template', name: 'template', hint: 'This provider keeps no template list here: type the name of an approved template.' }),
            field({ label: 'Language (optional)', name: 'language', placeholder: 'e.g. en' }),
            field({ label: 'Parameters it takes (optional)', name: 'takes', placeholder: 'e.g. 1, 2 or first_name, order_id', hint: 'Comma-separated: numbers for {{1}}-style templates, else the names.' }),
          )
        : field({
            label: 'Template',
            name: 'template',
            options: approved.map((t) => ({ value: templateKey(t), label: templateTitle(t) })),
            hint: 'Approved templates of this channel’s provider.',
          }),
      h('fieldset', { class: 'group' }, h('legend', {}, 'Parameters for everyone'), paramsBox),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'Recipients'),
        h(
          'div',
          { class: 'field', 'data-field': 'csv' },
          h('label', { for: csvId }, 'Paste CSV'),
          h('span', { class: 'hint', id: `${csvId}-hint` }, csvHint),
          csvArea,
          h('span', { class: 'field-error', id: `${csvId}-error` }),
        ),
        h('div', { class: 'field' }, h('label', { for: `${csvId}-file` }, 'Or upload a CSV file'), fileInput),
        previewBox,
      ),
      h('div', { class: 'form-alert' }),
      h('div', {}, submit),
    )
  )
  const templateSelect = /** @type {HTMLSelectElement | HTMLInputElement} */ (form.elements.namedItem('template'))
  /** A new key per broadcast, so a repeated click or a retry after a dropped answer sends it once. */
  let idempotencyKey = crypto.randomUUID()

  /** The typed template of a provider without a list, described as a synced one would be. @returns {TemplateDto | undefined} */
  const typed = () => {
    const text = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim()
    if (text('template') === '') return undefined
    const takes = [...new Set(text('takes').split(',').map((p) => p.trim().replace(/^\{\{\s*|\s*\}\}$/g, '').toLowerCase()).filter((p) => p !== ''))]
    const positional = takes.every((p) => /^\d+$/.test(p))
    return { name: text('template'), language: text('language'), status: 'APPROVED', category: null, parameter_format: positional ? 'POSITIONAL' : 'NAMED', params: positional ? takes.sort((a, b) => Number(a) - Number(b)) : takes, components: [] }
  }
  const chosen = () => (approved === null ? typed() : (approved.find((t) => templateKey(t) === templateSelect.value) ?? approved[0]))
  /** @returns {Record<string, string>} */
  const defaults = () => {
    /** @type {Record<string, string>} */
    const values = {}
    for (const input of paramsBox.querySelectorAll('input')) values[input.name.slice('param.'.length)] = input.value.trim()
    return values
  }
  const showParams = () => {
    const template = chosen()
    if (!template) {
      replace(paramsBox, h('p', { class: 'meta' }, 'Type the template first.'))
      return
    }
    if (template.params.length === 0) replace(paramsBox, h('p', { class: 'meta' }, 'This template has no parameters.'))
    else {
      replace(
        paramsBox,
        template.params.map((param) => {
          const example = paramExample(template, param)
          return field({
            label: paramLabel(template, param),
            name: `param.${param}`,
            ...(example ? { placeholder: `e.g. ${example}` } : {}),
            hint: `Used where a row has no value in the column “${param}”.`,
          })
        }),
      )
    }
    const columns = ['to', ...template.params]
    replace(csvHint, 'A header row, then one recipient a line: ', h('code', {}, columns.join(',')), '. Parameter columns are optional where the value above is set.')
    preview()
  }

  /** @type {CsvReading | null} */
  let reading = null
  const preview = () => {
    const template = chosen()
    reading = null
    if (!template || csvArea.value.trim() === '') {
      replace(previewBox)
      submit.textContent = 'Send broadcast'
      return
    }
    const result = readRecipients(csvArea.value, { params: template.params, named: template.parameter_format === 'NAMED', defaults: defaults() })
    if ('error' in result) {
      replace(previewBox, h('div', { class: 'alert warn' }, result.error))
      submit.textContent = 'Send broadcast'
      return
    }
    reading = result
    const toSend = result.total - result.skipped.length
    submit.textContent = `Send to ${number(result.total)} recipient${result.total === 1 ? '' : 's'}`
    const skippedLines = new Set(result.skipped.map((s) => s.line))
    replace(
      previewBox,
      h('h3', {}, 'Preview'),
      h(
        'p',
        { class: 'preview-summary' },
        `${number(result.total)} recipient${result.total === 1 ? '' : 's'}: ${number(toSend)} to send`,
        result.skipped.length > 0 ? `, ${number(result.skipped.length)} will be skipped` : '',
        '. ',
        h('span', { class: 'meta' }, 'The gateway checks every number again when you send; its count is the one that holds.'),
      ),
      result.unknownColumns.length > 0
        ? h('div', { class: 'alert warn' }, `The column${result.unknownColumns.length === 1 ? '' : 's'} ${result.unknownColumns.map((c) => `“${c}”`).join(', ')} ${result.unknownColumns.length === 1 ? 'is' : 'are'} not a parameter of ${template.name}; ignored.`)
        : null,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data', 'aria-label': 'First rows' },
          h('caption', {}, result.total > PREVIEW_ROWS ? `First ${PREVIEW_ROWS} of ${number(result.total)} rows` : 'Rows'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'To'), template.params.map((p) => h('th', { scope: 'col' }, paramLabel(template, p))))),
          h(
            'tbody',
            {},
            result.rows.slice(0, PREVIEW_ROWS).map((row) => {
              const values = row.params === undefined ? [] : Array.isArray(row.params) ? row.params : template.params.map((p) => /** @type {Record<string, string>} */ (row.params)[p] ?? '')
              return h('tr', { class: skippedLines.has(row.line) ? 'skipped' : '' }, h('td', {}, String(row.line)), h('td', { class: 'mono' }, row.to), values.map((v) => h('td', {}, v)))
            }),
          ),
        ),
      ),
      result.skipped.length > 0
        ? h(
            'div',
            { class: 'skipped-list' },
            h('h4', {}, 'Will be skipped'),
            h(
              'ul',
              { class: 'plain' },
              result.skipped.slice(0, PREVIEW_SKIPPED).map((s) => h('li', {}, `Line ${s.line}: `, h('span', { class: 'mono' }, s.to || '(empty)'), ` — ${s.reason}`)),
            ),
            result.skipped.length > PREVIEW_SKIPPED ? h('p', { class: 'meta' }, `and ${number(result.skipped.length - PREVIEW_SKIPPED)} more.`) : null,
          )
        : null,
    )
  }

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let previewTimer
  csvArea.addEventListener('input', () => {
    clearTimeout(previewTimer)
    previewTimer = setTimeout(preview, 150)
  })
  paramsBox.addEventListener('input', () => {
    clearTimeout(previewTimer)
    previewTimer = setTimeout(preview, 150)
  })
  templateSelect.addEventListener('change', showParams)
  // A typed template's parameters follow the typing.
  form.querySelector('[data-typed-template]')?.addEventListener('input', () => {
    clearTimeout(previewTimer)
    previewTimer = setTimeout(showParams, 300)
  })
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0]
    if (!file) return
    if (file.size > 50 * 1024 * 1024) return showFormError(form, { message: 'The file is larger than 50 MB: split the recipients into several broadcasts.', field: 'csv' })
    csvArea.value = await file.text()
    preview()
  })
  showParams()

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearFormErrors(form)
    clearTimeout(previewTimer)
    preview()
    const template = chosen()
    const name = /** @type {HTMLInputElement} */ (form.elements.namedItem('name')).value.trim()
    /** @type {import('../dom.js').FieldProblem[]} */
    const problems = []
    if (name === '') problems.push({ message: 'Give the broadcast a name.', field: 'name' })
    if (!template) problems.push({ message: 'Choose a template.', field: 'template' })
    if (!reading) problems.push({ message: csvArea.value.trim() === '' ? 'Paste the recipients, or upload a CSV file.' : 'The recipients could not be read: see the note below the list.', field: 'csv' })
    else if (reading.total === 0) problems.push({ message: 'The list has a header row but no recipients.', field: 'csv' })
    if (showFieldErrors(form, problems) || !template || !reading) return
    const shared = defaults()
    const allShared = template.params.every((p) => shared[p])
    /** @type {Record<string, unknown>} */
    const message = { type: 'template', name: template.name, ...(template.language ? { language: template.language } : {}) }
    if (template.params.length > 0 && allShared) message.params = template.parameter_format === 'NAMED' ? shared : template.params.map((p) => shared[p] ?? '')
    const body = {
      name,
      message,
      recipients: reading.rows.map((row) => (row.params === undefined ? { to: row.to } : { to: row.to, params: row.params })),
    }
    await busy(submit, async () => {
      try {
        /** @type {BroadcastDto} */
        const broadcast = await api('POST', `/api/channels/${encodeURIComponent(channel.id)}/broadcasts`, body, { headers: { 'idempotency-key': idempotencyKey } })
        idempotencyKey = crypto.randomUUID()
        announce(`Broadcast ${broadcast.name} started`)
        onSent(broadcast)
      } catch (error) {
        const apiError = /** @type {{ message: string, field?: string }} */ (error)
        const at = apiError.field ?? ''
        const mapped = at.startsWith('recipients') ? 'csv' : at.startsWith('message.params') ? undefined : at.startsWith('message') ? 'template' : at
        showFormError(form, { message: apiError.message, ...(mapped ? { field: mapped } : {}) })
      }
    })
  })
  return form
}

/** @param {import('../main.js').PageContext} context */
export async function renderBroadcasts({ main, params, navigate }) {
  const { items: channels } = await listAll('/api/channels')
  if (channels.length === 0) {
    replace(main, h('h1', {}, 'Broadcasts'), h('p', {}, 'No channels yet: ', h('a', { href: '/console/channels', 'data-nav': true }, 'connect a number'), ' first.'))
    return
  }
  /** @type {ChannelDto} */
  const channel = channels.find((/** @type {ChannelDto} */ c) => c.id === params.get('channel')) ?? channels[0]
  const broadcastId = params.get('broadcast')
  const picker = field({ label: 'Channel', name: 'channel', value: channel.id, options: channels.map((/** @type {ChannelDto} */ c) => ({ value: c.id, label: `${c.name} (${c.number})` })) })
  picker.querySelector('select')?.addEventListener('change', (event) => {
    navigate(`/console/broadcasts?channel=${encodeURIComponent(/** @type {HTMLSelectElement} */ (event.target).value)}`)
  })

  const pastBox = h('ul', { class: 'list past', 'aria-label': `Broadcasts of ${channel.name}` })
  const loadPast = async () => {
    // Oldest first from the API: the newest are shown first here.
    const items = (await listAll(`/api/channels/${encodeURIComponent(channel.id)}/broadcasts`, 5)).items.reverse()
    if (items.length === 0) {
      replace(pastBox, h('li', { class: 'empty' }, 'No broadcasts on this channel yet.'))
      return
    }
    replace(
      pastBox,
      items.map((/** @type {BroadcastDto} */ b) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `/console/broadcasts?channel=${channel.id}&broadcast=${b.id}`, 'data-nav': true, 'aria-current': b.id === broadcastId ? 'true' : false },
            h('span', { class: 'past-name' }, b.name),
            ' ',
            statusBadge(b.status),
            h('br'),
            h(
              'span',
              { class: 'meta' },
              `${number(b.counts.total)} recipients · ${number(b.counts.delivered + b.counts.read)} delivered · ${number(b.counts.failed)} failed · ${number(b.counts.skipped)} skipped · `,
              timeEl(b.created_at),
            ),
          ),
        ),
      ),
    )
  }

  /** @type {ReturnType<typeof liveBroadcast> | null} */
  let live = null
  if (broadcastId) live = liveBroadcast(broadcastId, { onChange: () => void loadPast().catch(() => {}) })

  let formBox
  const provider = /** @type {ProviderDto | undefined} */ ((await listAll('/api/providers')).items.find((/** @type {ProviderDto} */ p) => p.id === channel.provider_id))
  /** @type {TemplateDto[] | null} */
  let approved = []
  let templatesProblem = ''
  // Turn.io keeps no template list the gateway could sync: its templates are typed and sent as given.
  if (provider?.type === 'turnio') approved = null
  else {
    try {
      approved = (await loadTemplates(channel.provider_id)).filter((t) => t.status === 'APPROVED')
    } catch (error) {
      templatesProblem = /** @type {Error} */ (error).message
    }
  }
  if (approved !== null && approved.length === 0) {
    formBox = h(
      'p',
      {},
      templatesProblem ? `The templates could not be read: ${templatesProblem} ` : `${provider?.name ?? 'This channel’s provider'} has no approved templates yet. `,
      'See ',
      h('a', { href: `/console/templates?provider=${channel.provider_id}`, 'data-nav': true }, 'Templates'),
      ' to sync them.',
    )
  } else {
    formBox = newBroadcastForm(channel, approved, (broadcast) => navigate(`/console/broadcasts?channel=${channel.id}&broadcast=${broadcast.id}`))
  }

  await loadPast()
  await live?.start()
  replace(
    main,
    h('h1', {}, 'Broadcasts'),
    h(
      'p',
      { class: 'lead' },
      'Send an approved template to many people at once. Messages go out at the channel’s pace, people who write in are answered first, and anyone who opted out is skipped.',
    ),
    h('div', { class: 'card' }, picker),
    live ? live.element : null,
    h('section', { class: 'card', 'aria-labelledby': 'new-broadcast' }, h('h2', { id: 'new-broadcast', class: 'flush' }, 'New broadcast'), formBox),
    h('section', { class: 'card', 'aria-labelledby': 'past-broadcasts' }, h('h2', { id: 'past-broadcasts', class: 'flush' }, 'Past broadcasts'), pastBox),
  )
  return () => live?.stop()
}
