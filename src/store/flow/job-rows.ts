/**
 * The jobs a message's rows get, planned in JavaScript (ids in arrival order: each lane's FIFO order),
 * then inserted in one statement: pending, or already claimed where a hand-over allows (`HandOver`).
 */
import { isoAt } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { chunks } from './chunks.js'
import type { FlowSql } from './flow-sql.js'
import { CONVERSATION_ID_PLACEHOLDER, type ClaimedJobRow, type HandOver, type JobTemplate } from './flow-store.js'
import type { SqlExecutor } from './sql-executor.js'

/**
 * Attempts a job gets when its spec names none. Defined here, at the bottom of the store's imports
 * (`repos/jobs.ts` re-exports it), so the hot path never imports a repo that imports `db.ts`.
 */
export const DEFAULT_MAX_ATTEMPTS = 10

/** A job to create for one message; `handOver` set when it starts claimed (see `HandOver`). */
export interface PlannedJob {
  id: string
  task: string
  messageId: string
  lane: string
  /** The team whose work it is: claims serve teams in turn. */
  teamId: string
  maxAttempts: number
  nowMs: number
  handOver?: HandOver
}

export function planJob(template: JobTemplate, messageId: string, conversationId: string, teamId: string, nowMs: number): PlannedJob {
  return {
    id: newId('job', nowMs),
    task: template.task,
    messageId,
    lane: template.lane.replace(CONVERSATION_ID_PLACEHOLDER, conversationId),
    teamId,
    maxAttempts: template.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    nowMs,
  }
}

/**
 * Picks the jobs to hand over: in order, each the first job of a lane with no live job, up to the
 * limit of the hand-over it belongs to (`handOverOf`). Lanes are checked once for the whole set.
 */
export async function pickHandOvers(
  executor: SqlExecutor,
  sql: FlowSql,
  jobs: readonly PlannedJob[],
  handOverOf: (job: PlannedJob) => HandOver | undefined,
): Promise<void> {
  const candidates = jobs.filter((job) => handOverOf(job) !== undefined)
  if (candidates.length === 0) return
  const lanes = [...new Set(candidates.map((job) => job.lane))]
  const taken = new Set<string>()
  for (const part of chunks(lanes.map((lane) => [lane]))) {
    for (const row of await executor.all<{ lane: string }>(sql.busyLanes, [JSON.stringify(part)])) taken.add(row.lane)
  }
  const left = new Map<HandOver, number>()
  for (const job of jobs) {
    const handOver = handOverOf(job)
    const free = handOver === undefined ? 0 : (left.get(handOver) ?? handOver.limit)
    // Whatever happens to this job, a later job of its lane waits behind it.
    if (taken.has(job.lane)) continue
    taken.add(job.lane)
    if (handOver === undefined || free <= 0) continue
    left.set(handOver, free - 1)
    job.handOver = handOver
  }
}

export async function insertPlannedJobs(executor: SqlExecutor, sql: FlowSql, jobs: readonly PlannedJob[]): Promise<void> {
  for (const part of chunks(jobs)) await executor.run(sql.insertJobs, [JSON.stringify(plannedJobRows(part))])
}

/** The rows `sql.insertJobs` (and the statements that include it) take. */
export function plannedJobRows(jobs: readonly PlannedJob[]): unknown[][] {
  return jobs.map((job) => {
    const now = isoAt(job.nowMs)
    const claimed = job.handOver
    return [
      job.id,
      job.task,
      JSON.stringify({ messageId: job.messageId }),
      job.lane,
      null,
      now,
      job.maxAttempts,
      now,
      claimed ? 'running' : 'pending',
      // A claim counts an attempt (so a job that kills its worker runs out of attempts); so does this.
      claimed ? 1 : 0,
      claimed?.workerId ?? null,
      claimed?.lockedUntilIso ?? null,
      job.teamId,
    ]
  })
}

export function claimedRow(job: PlannedJob): ClaimedJobRow {
  return { id: job.id, task: job.task, payload: JSON.stringify({ messageId: job.messageId }), lane: job.lane, attempts: 1, max_attempts: job.maxAttempts }
}

