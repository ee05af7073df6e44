/**
 * List pagination (SPEC §4): `?limit=` (default 50, at most 200) and an opaque `?cursor=`, which is the
 * base64url of the last id of the previous page. Lists are ordered by id; ids are time-sortable, so
 * the order is creation order and a row created during a walk never shifts the pages already seen.
 */
import { GW_ERR_API_INVALID_CURSOR, GW_ERR_API_INVALID_VALUE } from '../core/errors.js'

/** Page size when `?limit=` is absent. */
export const DEFAULT_LIMIT = 50
/** Largest accepted `?limit=`. */
export const MAX_LIMIT = 200

/** A validated page request: rows after `afterId`, at most `limit`. */
export interface PageRequest {
  afterId: string | undefined
  limit: number
}

/** The list envelope every list endpoint answers with. */
export interface Page<T> {
  data: T[]
  next_cursor: string | null
}

/** What an id looks like (see core/ids.ts, plus the fixed bootstrap ids such as `team_default`). */
const ID_PATTERN = /^[a-z]{2,8}_[0-9a-z_]{1,64}$/

/** Whether `value` could be one of our ids; anything else is "not found" without asking the database. */
export function looksLikeId(value: string): boolean {
  return ID_PATTERN.test(value)
}

/** Reads `?limit=` and `?cursor=`; throws 422 for a bad limit and 400 for a cursor we did not give out. */
export function parsePageQuery(query: unknown): PageRequest {
  const params = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>
  let limit = DEFAULT_LIMIT
  const rawLimit = params.limit
  if (rawLimit !== undefined) {
    const text = Array.isArray(rawLimit) ? undefined : String(rawLimit)
    if (text === undefined || !/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_LIMIT) {
      throw GW_ERR_API_INVALID_VALUE(`"limit" must be a whole number from 1 to ${MAX_LIMIT}.`, { field: 'limit' })
    }
    limit = Number(text)
  }
  let afterId: string | undefined
  const rawCursor = params.cursor
  if (rawCursor !== undefined) {
    const text = Array.isArray(rawCursor) ? '' : String(rawCursor)
    const decoded = /^[A-Za-z0-9_-]{1,128}$/.test(text) ? Buffer.from(text, 'base64url').toString('utf8') : ''
    if (!looksLikeId(decoded)) {
      throw GW_ERR_API_INVALID_CURSOR('The cursor is not one this list gave out; copy "next_cursor" from the previous page, or start again without it.', {
        field: 'cursor',
      })
    }
    afterId = decoded
  }
  return { afterId, limit }
}

/** The repo page request for `page`: one row more than asked, to learn whether another page exists. */
export function probe(page: PageRequest): { afterId: string | undefined; limit: number } {
  return { afterId: page.afterId, limit: page.limit + 1 }
}

/** Builds the envelope from rows fetched with `probe(page)`. */
export function toPage<R extends { id: string }, T>(rows: R[], page: PageRequest, present: (row: R) => T): Page<T> {
  const visible = rows.slice(0, page.limit)
  const last = visible[visible.length - 1]
  return {
    data: visible.map(present),
    next_cursor: rows.length > page.limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
  }
}
