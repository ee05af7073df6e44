/**
 * The queue's table. Every SQL statement of the queue lives here, except the claim, whose SQL differs by
 * dialect and sits behind `Store.claimJobs` (`store/dialects/*-jobs.ts`). Times are ISO text from the
 * caller's clock; payloads are JSON text. The input and output types repeat the shape of the queue's
 * `EnqueueSpec` and `Job` because `store/` may not import `queue/`; the queue passes its own types in.
 */
import type { Kysely, Selectable, Transaction } from 'kysely'
import { isoAt } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { Store } from '../db.js'
import type { ClaimedJobRow, JobSettlement } from '../flow/flow-store.js'
import { DEFAULT_MAX_ATTEMPTS } from '../flow/job-rows.js'
import type { Database, JobsTable } from '../schema.js'

type JobRow = Selectable<JobsTable>
type Executor = Kysely<Database> | Transaction<Database>

/** Attempts a job gets when its spec names none. */
export { DEFAULT_MAX_ATTEMPTS }

/** Rows per statement: 14 columns × 500 stays far below SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500

/** A job to insert (the queue's `EnqueueSpec`). */
export interface NewJob {
  task: string
  payload: unknown
  lane?: string | null
  key?: string | null
  runAtMs?: number
  maxAttempts?: number
  /** The team whose work it is (claims serve teams in turn); none is `''`. */
  teamId?: string
}

/** A claimed job (the queue's `Job`). */
export interface ClaimedJob {
  id: string
  task: string
  payload: unknown
  lane: string | null
  attempts: number
  maxAttempts: number
  /** What the claim read for the task with the job (`ClaimedJobRow.prefetched`). */
  prefetched?: unknown
}

/** Every stored fact of a job, for the admin API and tests. */
export interface JobRecord extends ClaimedJob {
  key: string | null
  state: JobsTable['state']
  runAt: string
  lastError: string | null
  lockedBy: string | null
  lockedUntil: string | null
  createdAt: string
  updatedAt: string
}

export type { JobSettlement }

/** Job counts by state. */
export interface JobDepth {
  pending: number
  running: number
  dead: number
}

/** One page of dead jobs, newest first. */
export interface DeadJobPage {
  jobs: JobRecord[]
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

/**
 * Inserts jobs; pass the caller's transaction so a webhook's rows and its jobs commit together. Ids are
 * `newId('job')` in spec order, which is the lanes' FIFO order. A spec whose `key` already exists is
 * skipped (`on conflict (key) do nothing`), including a repeat within `specs`.
 */
export async function insertJobs(executor: Executor, specs: readonly NewJob[], nowMs: number): Promise<void> {
  const now = isoAt(nowMs)
  const rows = specs.map((spec) => ({
    id: newId('job', nowMs),
    task: spec.task,
    // `undefined` has no JSON text; the column is NOT NULL.
    payload: JSON.stringify(spec.payload ?? null),
    lane: spec.lane ?? null,
    key: spec.key ?? null,
    state: 'pending' as const,
    run_at: spec.runAtMs === undefined ? now : isoAt(spec.runAtMs),
    attempts: 0,
    max_attempts: spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    team_id: spec.teamId ?? '',
    last_error: null,
    locked_by: null,
    locked_until: null,
    created_at: now,
    updated_at: now,
  }))
  for (let i = 0; i < rows.length; i += CHUNK) {
    await executor
      .insertInto('jobs')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.column('key').doNothing())
      .execute()
  }
}

/** Claims up to `limit` jobs for `workerId` with a lease of `leaseMs` (see the dialects for the rules); id order. */
export async function claimJobs(
  store: Store,
  input: { workerId: string; queue?: string; limit: number; leaseMs: number; nowMs: number },
): Promise<ClaimedJob[]> {
  if (input.limit <= 0) return []
  const rows = await store.flow.claimJobs({
    workerId: input.workerId,
    queue: input.queue ?? 'main',
    limit: input.limit,
    nowIso: isoAt(input.nowMs),
    lockedUntilIso: isoAt(input.nowMs + input.leaseMs),
  })
  return rows.map(toClaimedJob).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/**
 * Applies settlements in one transaction (one commit for a whole batch of finished jobs). Only rows
 * still running under `workerId` change: a job whose lease another worker took over is left to it.
 * Returns the ids that were settled.
 */
export async function settleJobs(
  store: Store,
  workerId: string,
  settlements: readonly JobSettlement[],
  nowMs: number,
): Promise<Set<string>> {
  if (settlements.length === 0) return new Set()
  return new Set(await store.flow.settleJobs(workerId, settlements, nowMs))
}

/** Extends the leases of `workerId`'s running jobs to `lockedUntilMs`; returns the ids it still holds. */
export async function extendJobLeases(
  store: Store,
  workerId: string,
  ids: readonly string[],
  lockedUntilMs: number,
): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  return new Set(await store.flow.extendJobLeases(workerId, ids, lockedUntilMs))
}

/**
 * Puts every running job back to pending, for a single-process store at start-up (see
 * `Store.isSingleProcess`): their worker died with the process. The attempt stays spent, so a job that
 * crashes the process every time still runs out of attempts. Returns how many were released.
 */
export async function releaseAllRunning(db: Kysely<Database>, nowMs: number): Promise<number> {
  const result = await db
    .updateTable('jobs')
    .set({ state: 'pending', locked_by: null, locked_until: null, updated_at: isoAt(nowMs) })
    .where('state', '=', 'running')
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Counts jobs by state. */
export async function countJobsByState(db: Kysely<Database>): Promise<JobDepth> {
  const rows = await db
    .selectFrom('jobs')
    .select((eb) => ['state', eb.fn.countAll<number | string>().as('n')])
    .groupBy('state')
    .execute()
  const depth: JobDepth = { pending: 0, running: 0, dead: 0 }
  for (const row of rows) depth[row.state] = Number(row.n)
  return depth
}

/** Dead jobs, newest first; `cursor` is the `nextCursor` of the previous page. */
export async function listDeadJobs(db: Kysely<Database>, options: { limit: number; cursor?: string | null }): Promise<DeadJobPage> {
  let query = db.selectFrom('jobs').selectAll().where('state', '=', 'dead')
  if (options.cursor) query = query.where('id', '<', options.cursor)
  const rows = await query.orderBy('id', 'desc').limit(options.limit + 1).execute()
  const page = rows.slice(0, options.limit)
  return {
    jobs: page.map(toJobRecord),
    nextCursor: rows.length > options.limit ? (page[page.length - 1]?.id ?? null) : null,
  }
}

/**
 * Gives a dead job a fresh start: pending, attempts 0, due now. Its old id puts it at the head of its
 * lane again, ahead of the lane's later jobs. Returns false when no dead job has that id.
 */
export async function retryDeadJob(db: Kysely<Database>, id: string, nowMs: number): Promise<boolean> {
  const now = isoAt(nowMs)
  const result = await db
    .updateTable('jobs')
    .set({ state: 'pending', attempts: 0, run_at: now, locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', id)
    .where('state', '=', 'dead')
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** One job by id, or undefined. */
export async function findJob(db: Kysely<Database>, id: string): Promise<JobRecord | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toJobRecord(row)
}

/** A claimed job's row as the queue's job. */
export function toClaimedJob(row: ClaimedJobRow | JobRow): ClaimedJob {
  const job: ClaimedJob = {
    id: row.id,
    task: row.task,
    payload: JSON.parse(row.payload) as unknown,
    lane: row.lane,
    // PostgreSQL's driver returns integers as numbers, but `returning *` through raw SQL is not typed.
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
  }
  if ('prefetched' in row && row.prefetched !== undefined) job.prefetched = row.prefetched
  return job
}

function toJobRecord(row: JobRow): JobRecord {
  return {
    ...toClaimedJob(row),
    key: row.key,
    state: row.state,
    runAt: row.run_at,
    lastError: row.last_error,
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
