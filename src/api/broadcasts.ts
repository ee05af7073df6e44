/**
 * Broadcasts: one approved template to many recipients of a channel.
 *
 * - `POST /api/channels/{id}/broadcasts` takes `{name, message, recipients: [{to, params?}]}` as JSON, or
 *   the recipients as `text/csv` (a header row with `to` and one column per template parameter) with
 *   `name`, `template` and `language` in the query. Up to 100,000 recipients, all stored (with the reason
 *   of each one skipped) before the 202; the dispatch job then turns them into messages at the channel's
 *   rate. `Idempotency-Key` makes a repeated request answer the broadcast the first one made.
 * - `GET /api/broadcasts/{id}` (counts, status, grouped errors), `GET /api/broadcasts/{id}/recipients`,
 *   `GET /api/channels/{id}/broadcasts`, `POST /api/broadcasts/{id}/cancel`.
 *
 * The template is checked once against the provider's synced list (not found, not approved), and each
 * recipient's parameters against what it takes: a recipient whose parameters do not fit is skipped with
 * `params_mismatch`, unless none fits, which refuses the request naming what the template takes.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../store/schema.js'
import { parse as parseCsv } from 'csv-parse/sync'
import {
  GW_ERR_API_BODY_TOO_LARGE,
  GW_ERR_API_CONFLICT,
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_MALFORMED,
  GW_ERR_API_MISSING_FIELD,
  GW_ERR_API_TEMPLATE_PARAMS_MISMATCH,
  GW_ERR_API_UNKNOWN_FIELD,
  GW_ERR_API_UNSUPPORTED_MEDIA_TYPE,
  type GatewayError,
} from '../core/errors.js'
import { checkOutbound, type TemplateOutbound } from '../core/outbound.js'
import { isBsuid, toE164 } from '../core/phone.js'
import { isProviderType, providerKind } from '../providers/index.js'
import {
  broadcastCounts,
  broadcastErrors,
  cancelBroadcast,
  createBroadcast,
  findBroadcast,
  findBroadcastByKey,
  listBroadcasts,
  listRecipients,
  optedOutOf,
  RECIPIENT_STATUSES,
  type Broadcast,
  type BroadcastCounts,
  type NewRecipient,
  type RecipientStatus,
} from '../store/repos/broadcasts.js'
import type { Channel } from '../store/repos/channels.js'
import { checkTemplateSend } from '../store/repos/templates.js'
import type { EnqueueSpec } from '../queue/job.js'
import { callerOf } from './auth.js'
import { idParam, notFound, type ApiContext, type ApiRoutes } from './api-context.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { NAME_MAX, requireObjectBody } from './validation.js'
import type { BroadcastDto, BroadcastRecipientDto } from './dto.js'

/** Most recipients one broadcast takes. */
export const BROADCAST_MAX_RECIPIENTS = 100_000
/** Largest body of a broadcast request: 100,000 recipients with a few parameters each fit well within it. */
const BROADCAST_BODY_LIMIT = 50 * 1024 * 1024
const PARAM_MAX = 1024
const PARAM_NAME = /^[a-z0-9_]{1,40}$/
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

export type { BroadcastDto, BroadcastRecipientDto } from './dto.js'

export interface BroadcastRoutesOptions {
  /** The job that dispatches a broadcast (the API names no task). */
  dispatchJob(broadcastId: string): EnqueueSpec
  /** Called after new jobs committed, so the worker claims them at once. */
  onJobsEnqueued(): void
}

/** One recipient as the request gave it. */
interface RequestedRecipient {
  to: string
  params: string[] | Record<string, string> | undefined
}

/** What either body form carries. */
interface BroadcastRequest {
  name: string
  /** The message as given (checked afterwards); `fieldOf` renames its paths for the CSV form. */
  message: unknown
  recipients: RequestedRecipient[]
  /** For a CSV: the params' other reading (named columns of a positional template: in column order). */
  positional?: Array<string[] | undefined>
  fieldOf(path: string): string
}

function presentCounts(counts: BroadcastCounts): BroadcastDto['counts'] {
  return {
    total: counts.total,
    queued: counts.pending + counts.queued,
    sent: counts.sent,
    delivered: counts.delivered,
    read: counts.read,
    failed: counts.failed,
    skipped: counts.skipped,
    cancelled: counts.cancelled,
  }
}

/** A broadcast as the API shows it now: its counts and grouped errors read fresh. */
export async function broadcastView(db: Kysely<Database>, broadcast: Broadcast): Promise<BroadcastDto> {
  const [counts, errors] = await Promise.all([broadcastCounts(db, broadcast.id), broadcastErrors(db, broadcast.id)])
  return present(broadcast, counts, errors)
}

function present(broadcast: Broadcast, counts: BroadcastCounts, errors: BroadcastDto['errors']): BroadcastDto {
  return {
    id: broadcast.id,
    name: broadcast.name,
    channel_id: broadcast.channelId,
    status: broadcast.status,
    message: broadcast.message,
    counts: presentCounts(counts),
    errors,
    created_at: broadcast.createdAt,
    finished_at: broadcast.finishedAt,
  }
}

/** A recipient's params from JSON: a list or an object of texts, or a 422 naming its place. */
function readParams(value: unknown, field: string): RequestedRecipient['params'] {
  if (value === undefined || value === null) return undefined
  const bad = (what: string) => GW_ERR_API_INVALID_VALUE(`"${field}" ${what}.`, { field })
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (typeof item !== 'string') throw GW_ERR_API_INVALID_VALUE(`"${field}[${index}]" must be text.`, { field: `${field}[${index}]` })
      if (item.length > PARAM_MAX) throw GW_ERR_API_INVALID_VALUE(`"${field}[${index}]" must be at most ${PARAM_MAX} characters long.`, { field: `${field}[${index}]` })
    })
    return value as string[]
  }
  if (typeof value !== 'object') throw bad('must be an array of texts (positional {{1}}…) or an object of named texts')
  for (const [name, item] of Object.entries(value)) {
    if (!PARAM_NAME.test(name)) throw bad(`names "${name.slice(0, 40)}", but parameter names are lower-case letters, digits and _ (at most 40)`)
    if (typeof item !== 'string') throw GW_ERR_API_INVALID_VALUE(`"${field}.${name}" must be text.`, { field: `${field}.${name}` })
    if (item.length > PARAM_MAX) throw GW_ERR_API_INVALID_VALUE(`"${field}.${name}" must be at most ${PARAM_MAX} characters long.`, { field: `${field}.${name}` })
  }
  return value as Record<string, string>
}

/** The JSON form: `{name, message, recipients}`. */
export function readJsonRequest(body: unknown): BroadcastRequest {
  const object = requireObjectBody(body)
  for (const key of Object.keys(object)) {
    if (key !== 'name' && key !== 'message' && key !== 'recipients') {
      throw GW_ERR_API_UNKNOWN_FIELD(`"${key}" is not a field this request takes; send "name", "message" and "recipients".`, { field: key })
    }
  }
  const name = readName(object.name, 'name')
  if (object.message === undefined) throw GW_ERR_API_MISSING_FIELD('"message" is required: the template message every recipient gets.', { field: 'message' })
  const list = object.recipients
  if (list === undefined) throw GW_ERR_API_MISSING_FIELD('"recipients" is required: a list of {"to", "params"?}.', { field: 'recipients' })
  if (!Array.isArray(list)) throw GW_ERR_API_INVALID_VALUE('"recipients" must be a JSON array of {"to", "params"?}.', { field: 'recipients' })
  checkCount(list.length, 'recipients')
  const recipients = list.map((item: unknown, index): RequestedRecipient => {
    const field = `recipients[${index}]`
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw GW_ERR_API_INVALID_VALUE(`"${field}" must be an object {"to", "params"?}.`, { field })
    }
    const { to, params, ...rest } = item as Record<string, unknown>
    const unknown = Object.keys(rest)[0]
    if (unknown !== undefined) throw GW_ERR_API_UNKNOWN_FIELD(`"${field}.${unknown}" is not a field of a recipient; send "to" and "params".`, { field: `${field}.${unknown}` })
    if (typeof to !== 'string' || to.length > 300) {
      throw GW_ERR_API_INVALID_VALUE(`"${field}.to" must be the recipient's number (e.g. +27812345678) or BSUID, as text.`, { field: `${field}.to` })
    }
    return { to, params: readParams(params, `${field}.params`) }
  })
  return { name, message: object.message, recipients, fieldOf: (path) => path }
}

function readName(value: unknown, field: string): string {
  if (value === undefined) throw GW_ERR_API_MISSING_FIELD(`"${field}" is required: a name for the broadcast.`, { field })
  if (typeof value !== 'string' || value.trim() === '' || value.trim().length > NAME_MAX) {
    throw GW_ERR_API_INVALID_VALUE(`"${field}" must be text of 1 to ${NAME_MAX} characters.`, { field })
  }
  return value.trim()
}

function checkCount(count: number, field: string): void {
  if (count === 0) throw GW_ERR_API_INVALID_VALUE(`"${field}" is empty; a broadcast needs at least one recipient.`, { field })
  if (count > BROADCAST_MAX_RECIPIENTS) {
    throw GW_ERR_API_INVALID_VALUE(
      `"${field}" has ${count} recipients; one broadcast takes at most ${BROADCAST_MAX_RECIPIENTS}: split the list into several broadcasts.`,
      { field },
    )
  }
}

/**
 * The CSV form: a header row with `to` and one column per parameter (named, or `1`, `2`… for
 * positional ones), and `name`, `template`, `language` in the query.
 */
function readCsvRequest(text: string, query: Record<string, unknown>): BroadcastRequest {
  const queryText = (key: string) => (typeof query[key] === 'string' ? (query[key] as string) : undefined)
  const name = readName(queryText('name'), 'name')
  const template = queryText('template')
  if (template === undefined || template.trim() === '') {
    throw GW_ERR_API_MISSING_FIELD('"template" is required in the query: the name of the template every recipient gets (?template=…).', { field: 'template' })
  }
  const language = queryText('language')
  let rows: string[][]
  try {
    rows = parseCsv(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][]
  } catch (error) {
    throw GW_ERR_API_MALFORMED(`The CSV could not be read: ${(error as Error).message}. Quote fields that hold commas, quotes or line breaks ("…", with "" for a quote).`)
  }
  const header = rows.shift()
  const toColumn = header?.findIndex((column) => column.toLowerCase() === 'to') ?? -1
  if (header === undefined || toColumn < 0) {
    throw GW_ERR_API_MISSING_FIELD('The CSV needs a header row with a "to" column (the recipients\' numbers), and one column per template parameter.', { field: 'to' })
  }
  checkCount(rows.length, 'recipients')
  const columns = header.map((column, index) => ({ column, index })).filter(({ index }) => index !== toColumn)
  for (const { column } of columns) {
    if (!PARAM_NAME.test(column)) {
      throw GW_ERR_API_INVALID_VALUE(`The CSV column "${column.slice(0, 40)}" is not a parameter name: use lower-case letters, digits and _ (or 1, 2… for positional parameters).`, { field: column.slice(0, 40) })
    }
  }
  const numbered = columns.length > 0 && columns.every(({ column }) => /^[1-9][0-9]?$/.test(column))
  if (numbered) columns.sort((a, b) => Number(a.column) - Number(b.column))
  const recipients: RequestedRecipient[] = []
  const positional: Array<string[] | undefined> = []
  rows.forEach((row, line) => {
    for (const { column, index } of columns) {
      if ((row[index] ?? '').length > PARAM_MAX) {
        throw GW_ERR_API_INVALID_VALUE(`Row ${line + 2}, column "${column}": a parameter is at most ${PARAM_MAX} characters long.`, { field: column })
      }
    }
    const values = columns.map(({ index }) => row[index] ?? '')
    const named = Object.fromEntries(columns.map(({ column }, i) => [column, values[i]!]))
    recipients.push({ to: row[toColumn] ?? '', params: columns.length === 0 ? undefined : numbered ? values : named })
    positional.push(columns.length === 0 || numbered ? undefined : values)
  })
  const message = { type: 'template', name: template.trim(), ...(language !== undefined && language.trim() !== '' ? { language: language.trim() } : {}) }
  const fieldOf = (path: string) => (path === 'message.name' ? 'template' : path === 'message.language' ? 'language' : path)
  return { name, message, recipients, positional, fieldOf }
}

/** The params a recipient is sent: their own, over the broadcast's own where both are named. */
function effectiveParams(own: RequestedRecipient['params'], shared: TemplateOutbound['params']): TemplateOutbound['params'] {
  if (own === undefined) return shared
  if (!Array.isArray(own) && shared !== undefined && !Array.isArray(shared)) return { ...shared, ...own }
  return own
}

/** What identifies a params shape for the template check: list length, or the sorted names. */
function shapeOf(params: TemplateOutbound['params']): string {
  if (params === undefined) return '-'
  if (Array.isArray(params)) return `#${params.length}`
  return Object.keys(params).sort().join(',')
}

/** Marks a recipient none of whose params readings fit the template. */
const NO_FIT = Symbol('no fit')

/** WhatsApp refuses an empty parameter, so a recipient with one is skipped. */
function hasEmptyValue(params: TemplateOutbound['params']): boolean {
  if (params === undefined) return false
  return (Array.isArray(params) ? params : Object.values(params)).some((value) => value.trim() === '')
}

/** Builds the broadcast routes. */
export function createBroadcastRoutes(options: BroadcastRoutesOptions): ApiRoutes {
  return (server, context) => {
    const { store, clock } = context.deps

    /** The broadcast as shown: counts and errors read now. */
    const view = (broadcast: Broadcast): Promise<BroadcastDto> => broadcastView(store.db, broadcast)

    /** The broadcast an earlier request with the same key made: answered again, as it is now. */
    async function replay(existing: Broadcast, channelId: string, key: string): Promise<BroadcastDto> {
      if (existing.channelId !== channelId) {
        throw GW_ERR_API_CONFLICT(`The Idempotency-Key "${key.slice(0, 60)}" was used for broadcast ${existing.id} on another channel; use a new key for a new broadcast.`, {
          field: 'Idempotency-Key',
        })
      }
      return view(existing)
    }

    /** Every recipient classified: pending, or skipped with its reason; the template checked once. */
    async function classify(request: BroadcastRequest, message: TemplateOutbound, channel: Channel): Promise<NewRecipient[]> {
      const provider = await context.providers.get(channel.teamId, channel.providerId)
      const kind = provider !== undefined && isProviderType(provider.type) ? providerKind(provider.type) : undefined
      const check = (params: TemplateOutbound['params']) =>
        checkTemplateSend(store.db, {
          providerId: channel.providerId,
          synced: kind?.capabilities.templates === 'synced',
          defaultLanguage: provider !== undefined && kind !== undefined ? kind.defaultTemplateLanguage(provider.config) : null,
          message: { ...message, ...(params === undefined ? {} : { params }) } as TemplateOutbound,
          field: request.fieldOf('message'),
        })
      // One check per params shape (a broadcast has one or two); a refusal other than the params
      // (unknown or unapproved template) refuses the whole request.
      const shapes = new Map<string, GatewayError | null>()
      let mismatch: GatewayError | undefined
      async function fits(params: TemplateOutbound['params']): Promise<boolean> {
        const shape = shapeOf(params)
        if (!shapes.has(shape)) {
          const error = await check(params)
          if (error !== null && error.apiCode !== GW_ERR_API_TEMPLATE_PARAMS_MISMATCH.apiCode) throw error
          shapes.set(shape, error)
        }
        const error = shapes.get(shape)!
        if (error !== null) mismatch ??= error
        return error === null
      }

      const optedOut = await optedOutOf(store.db, channel.id)
      const seen = new Set<string>()
      const out: NewRecipient[] = []
      let fitting = 0
      for (let index = 0; index < request.recipients.length; index++) {
        // Numbers take ~13 µs each to read: let webhooks and other requests in between (100,000 take ~1.3 s).
        if (index % 2000 === 1999) await new Promise((resolve) => setImmediate(resolve))
        const { to, params } = request.recipients[index]!
        const text = to.trim()
        const bsuid = isBsuid(text) ? text : null
        const phone = bsuid === null ? toE164(text) : null
        const skip = (reason: string): NewRecipient => ({ recipient: to, phone, bsuid, params: params ?? null, state: 'skipped', reason })
        if (phone === null && bsuid === null) {
          out.push(skip('invalid_number'))
          continue
        }
        const key = bsuid ?? phone!
        if (seen.has(key)) {
          out.push(skip('duplicate'))
          continue
        }
        seen.add(key)
        if ((phone !== null && optedOut.phones.has(phone)) || (bsuid !== null && optedOut.bsuids.has(bsuid))) {
          out.push(skip('opted_out'))
          continue
        }
        // The params sent: the recipient's own (over the broadcast's), else, for named CSV columns of a
        // positional template, the columns in order; a recipient none of whose readings fit is skipped.
        const own = effectiveParams(params, message.params)
        const alternative = request.positional?.[index]
        const chosen = (await fits(own)) ? own : alternative !== undefined && (await fits(alternative)) ? alternative : NO_FIT
        if (chosen === NO_FIT || hasEmptyValue(chosen)) {
          out.push(skip('params_mismatch'))
          continue
        }
        fitting++
        // Stored only where they differ from the broadcast's own.
        out.push({ recipient: to, phone, bsuid, params: chosen === message.params ? null : (chosen ?? null), state: 'pending', reason: null })
      }
      // Not one recipient fits: the request is wrong, not the recipients; say what the template takes.
      if (fitting === 0 && mismatch !== undefined) throw mismatch
      return out
    }

    async function channelOf(teamId: string, channelId: string): Promise<Channel> {
      const channel = await context.channels.get(teamId, channelId)
      if (!channel) throw notFound('channel', channelId)
      return channel
    }

    async function broadcastOf(request: FastifyRequest): Promise<Broadcast> {
      const caller = callerOf(request)
      const id = idParam(request, 'broadcast')
      const broadcast = await findBroadcast(store.db, caller.teamId, id)
      if (!broadcast) throw notFound('broadcast', id)
      return broadcast
    }

    const createRoutes = async (scope: FastifyInstance) => {
      // This scope only: a CSV body arrives as text, up to the broadcast limit.
      scope.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: BROADCAST_BODY_LIMIT }, (_request, body, done) => done(null, body))
      scope.setErrorHandler((error: FastifyError) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          throw GW_ERR_API_BODY_TOO_LARGE(`A broadcast request is at most ${BROADCAST_BODY_LIMIT / 1024 / 1024} MB; split the recipients into several broadcasts.`)
        }
        // Everything else is the app's one error handler's.
        throw error
      })

      scope.post('/api/channels/:id/broadcasts', { bodyLimit: BROADCAST_BODY_LIMIT }, async (request, reply) => {
        const caller = callerOf(request)
        const channelId = idParam(request, 'channel')
        const contentType = String(request.headers['content-type'] ?? '')
        const isCsv = /^text\/csv\s*(;|$)/i.test(contentType)
        if (!isCsv && !/^application\/json\s*(;|$)/i.test(contentType)) {
          throw GW_ERR_API_UNSUPPORTED_MEDIA_TYPE('Send the broadcast as application/json ({name, message, recipients}) or as text/csv with ?name=&template=.')
        }
        const input = isCsv ? readCsvRequest(String(request.body ?? ''), request.query as Record<string, unknown>) : readJsonRequest(request.body)
        const rawKey = request.headers['idempotency-key']
        const key = typeof rawKey === 'string' ? rawKey : undefined
        if (rawKey !== undefined && (key === undefined || !IDEMPOTENCY_KEY.test(key))) {
          throw GW_ERR_API_INVALID_VALUE('The Idempotency-Key header must be 1 to 200 printable characters without spaces.', { field: 'Idempotency-Key' })
        }
        const channel = await channelOf(caller.teamId, channelId)
        if (key !== undefined) {
          const existing = await findBroadcastByKey(store.db, caller.teamId, key)
          if (existing) return reply.code(200).send(await replay(existing, channelId, key))
        }

        const checked = checkOutbound(input.message, 'message')
        if (!checked.ok) {
          const field = input.fieldOf(checked.path)
          throw GW_ERR_API_INVALID_VALUE(`"${field}" ${checked.problem}.`, { field })
        }
        if (checked.message.type !== 'template') {
          throw GW_ERR_API_INVALID_VALUE('"message.type" must be "template": a broadcast starts conversations, which WhatsApp allows only with an approved template.', {
            field: 'message.type',
          })
        }
        const message = checked.message
        const recipients = await classify(input, message, channel)
        let broadcast: Broadcast
        try {
          broadcast = await createBroadcast(store.db, {
            teamId: caller.teamId,
            channelId,
            name: input.name,
            message,
            idempotencyKey: key ?? null,
            recipients,
            dispatchJob: options.dispatchJob,
            nowMs: clock.now(),
          })
        } catch (error) {
          // The same key arrived twice at once: the other request stored its broadcast first.
          if (key === undefined || !store.isUniqueViolation(error)) throw error
          const existing = await findBroadcastByKey(store.db, caller.teamId, key)
          if (!existing) throw error
          return reply.code(200).send(await replay(existing, channelId, key))
        }
        options.onJobsEnqueued()
        const counts: BroadcastCounts = { total: recipients.length, pending: 0, queued: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0, cancelled: 0 }
        for (const recipient of recipients) counts[recipient.state]++
        request.log.info({ teamId: caller.teamId, channelId, broadcastId: broadcast.id, total: counts.total, skipped: counts.skipped }, 'api:broadcast:created')
        return reply.code(202).send(present(broadcast, counts, []))
      })
    }
    void server.register(createRoutes)

    server.get('/api/channels/:id/broadcasts', async (request) => {
      const caller = callerOf(request)
      const channelId = idParam(request, 'channel')
      const page = parsePageQuery(request.query)
      await channelOf(caller.teamId, channelId)
      const rows = await listBroadcasts(store.db, { teamId: caller.teamId, channelId, limit: probe(page).limit, afterId: page.afterId ?? null })
      const views = new Map((await Promise.all(rows.slice(0, page.limit).map(view))).map((dto) => [dto.id, dto]))
      return toPage(rows, page, (row) => views.get(row.id)!)
    })

    server.get('/api/broadcasts/:id', async (request) => view(await broadcastOf(request)))

    server.get('/api/broadcasts/:id/recipients', async (request) => {
      const broadcast = await broadcastOf(request)
      const query = (request.query ?? {}) as Record<string, unknown>
      const page = parsePageQuery({ limit: query.limit, cursor: query.cursor })
      const status = query.status
      if (status !== undefined && !(RECIPIENT_STATUSES as readonly unknown[]).includes(status)) {
        throw GW_ERR_API_INVALID_VALUE(`"status" must be one of ${RECIPIENT_STATUSES.join(', ')}.`, { field: 'status' })
      }
      // The cursor holds the last position seen, as `pos_<n>` (the pagination module's id form).
      const afterPosition = page.afterId === undefined ? null : Number(/^pos_(\d{1,9})$/.exec(page.afterId)?.[1] ?? Number.NaN)
      if (afterPosition !== null && !Number.isInteger(afterPosition)) {
        throw GW_ERR_API_INVALID_VALUE('The cursor is not one this list gave out; start again without it.', { field: 'cursor' })
      }
      const rows = await listRecipients(store.db, {
        broadcastId: broadcast.id,
        status: status as RecipientStatus | undefined,
        afterPosition,
        limit: probe(page).limit,
      })
      return toPage(
        rows.map((row) => ({ ...row, id: `pos_${row.position}` })),
        page,
        (row): BroadcastRecipientDto => ({
          position: row.position,
          to: row.to,
          status: row.status,
          reason: row.reason,
          message_id: row.messageId,
          error: row.error,
        }),
      )
    })

    server.post('/api/broadcasts/:id/cancel', async (request) => {
      const caller = callerOf(request)
      const id = idParam(request, 'broadcast')
      const broadcast = await cancelBroadcast(store.db, caller.teamId, id, clock.now())
      if (!broadcast) throw notFound('broadcast', id)
      request.log.info({ teamId: caller.teamId, broadcastId: id }, 'api:broadcast:cancelled')
      return view(broadcast)
    })
  }
}
