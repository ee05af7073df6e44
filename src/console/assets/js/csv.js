// @ts-check
/**
 * A broadcast's recipients from CSV text, read in the browser for the preview: a header row with `to`
 * and one column per template parameter, then one row per recipient. The check here is a simple one
 * (a number's digits, duplicates, missing parameter values) so a person sees at once what looks wrong;
 * the gateway checks every number properly and its verdict, shown after sending, is the one that counts.
 */

/**
 * Rows of CSV text: fields split on commas, `"…"` quoting with `""` for a quote (line breaks allowed
 * inside), CRLF or LF line ends, a leading byte-order mark ignored, blank lines dropped. Each row keeps
 * its line number for messages.
 * @param {string} text
 * @returns {Array<{ line: number, fields: string[] }>}
 */
export function parseCsv(text) {
  /** @type {Array<{ line: number, fields: string[] }>} */
  const rows = []
  let fields = /** @type {string[]} */ ([])
  let fieldText = ''
  let quoted = false
  let line = 1
  let rowLine = 1
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text
  const endRow = () => {
    fields.push(fieldText)
    if (fields.length > 1 || fields[0]?.trim() !== '') rows.push({ line: rowLine, fields: fields.map((f) => f.trim()) })
    fields = []
    fieldText = ''
  }
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') {
        fieldText += '"'
        i++
      } else if (c === '"') quoted = false
      else {
        if (c === '\n') line++
        fieldText += c
      }
    } else if (c === '"' && fieldText.trim() === '') {
      quoted = true
      fieldText = ''
    } else if (c === ',') {
      fields.push(fieldText)
      fieldText = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && source[i + 1] === '\n') i++
      endRow()
      line++
      rowLine = line
    } else fieldText += c
  }
  if (fieldText !== '' || fields.length > 0) endRow()
  return rows
}

/** A column name as the template writes it: `{{1}}` and `1` are one column, names in lower case. */
export function columnName(/** @type {string} */ header) {
  return header.trim().replace(/^\{\{\s*|\s*\}\}$/g, '').trim().toLowerCase()
}

/**
 * A number's digits when it looks like a WhatsApp number (8 to 15 digits, with or without `+`, spaces,
 * dashes, dots or brackets), a Meta user id (`US.1234…`) as written, else null.
 */
export function recipientKey(/** @type {string} */ to) {
  const text = to.trim().replace(/^whatsapp:/, '')
  if (/^[A-Z]{2}\.[0-9A-Za-z]{1,250}$/.test(text)) return text
  if (!/^\+?[\d\s().-]+$/.test(text)) return null
  const digits = text.replace(/\D/g, '')
  return digits.length >= 8 && digits.length <= 15 ? digits : null
}

/**
 * @typedef {{ line: number, to: string, params: string[] | Record<string, string> | undefined }} CsvRecipient
 * @typedef {{ line: number, to: string, reason: string }} CsvSkip
 * @typedef {{ header: string[], rows: CsvRecipient[], skipped: CsvSkip[], unknownColumns: string[], total: number }} CsvReading
 */

/**
 * Reads recipients for a template: each row's parameters are its cells, with `defaults` where a cell is
 * empty or its column absent. Rows the simple check finds wrong are listed in `skipped` with the reason,
 * and are still sent, so the gateway records them with its own reason.
 * @param {string} text
 * @param {{ params: string[], named: boolean, defaults: Record<string, string> }} template
 * @returns {CsvReading | { error: string }}
 */
export function readRecipients(text, template) {
  const rows = parseCsv(text)
  const head = rows.shift()
  if (!head) return { error: 'Paste or upload the recipients: a header row with "to", then one number a line.' }
  const header = head.fields.map(columnName)
  const toColumn = header.indexOf('to')
  if (toColumn < 0) return { error: `The first row must name the columns, one of them "to" (the numbers); it says: ${head.fields.join(', ')}.` }
  const unknownColumns = header.filter((name, index) => index !== toColumn && !template.params.includes(name))
  /** @type {CsvRecipient[]} */
  const recipients = []
  /** @type {CsvSkip[]} */
  const skipped = []
  /** @type {Map<string, number>} */
  const seen = new Map()
  for (const row of rows) {
    const to = row.fields[toColumn] ?? ''
    /** @type {Record<string, string>} */
    const values = {}
    for (const param of template.params) {
      const index = header.indexOf(param)
      const cell = index < 0 ? '' : (row.fields[index] ?? '')
      values[param] = cell !== '' ? cell : (template.defaults[param] ?? '')
    }
    const params = template.params.length === 0 ? undefined : template.named ? values : template.params.map((p) => values[p] ?? '')
    const recipient = { line: row.line, to, params }
    recipients.push(recipient)
    const key = recipientKey(to)
    const missing = template.params.filter((p) => (values[p] ?? '') === '')
    if (key === null) skipped.push({ line: row.line, to, reason: to === '' ? 'no number' : 'not a phone number' })
    else if (seen.has(key)) skipped.push({ line: row.line, to, reason: `same number as line ${seen.get(key)}` })
    else if (missing.length > 0) skipped.push({ line: row.line, to, reason: `no value for ${missing.map((p) => (template.named ? p : `{{${p}}}`)).join(', ')}` })
    if (key !== null && !seen.has(key)) seen.set(key, row.line)
  }
  return { header: head.fields, rows: recipients, skipped, unknownColumns, total: recipients.length }
}
