/**
 * Handing new jobs straight to this process's runner. Where the store can create jobs already claimed
 * (`FlowStore.handsOverJobs`: SQLite, which one process owns), the code creating them reserves runner
 * slots first, the store creates up to that many `running` for this runner, and the runner starts them
 * at once, with what their task would otherwise read first: no claim has to find them, and no read has
 * to fetch their message. Measured end to end on SQLite: BENCHMARKS.md. Everything else (no free slot,
 * a lane already busy, PostgreSQL) is created pending and claimed as usual.
 */
import { isoAt } from '../core/clock.js'
import type { HandedOverJob, HandOver } from '../store/flow/flow-store.js'
import { toClaimedJob } from '../store/repos/jobs.js'
import type { Runner } from './runner.js'

/** Runs `create` with a hand-over to `runner` for up to `count` jobs, and hands the jobs it created over. */
export type HandOverFn = <R extends { handedOver: HandedOverJob[] }>(count: number, create: (handOver: HandOver | undefined) => Promise<R>) => Promise<R>

/** The hand-over of `runner()` (the runner of this process, undefined when it runs none). */
export function createHandOver(runner: () => Runner | undefined, storeHandsOver: boolean): HandOverFn {
  return async (count, create) => {
    const current = storeHandsOver && count > 0 ? runner() : undefined
    const reservation = current?.reserve(count)
    if (!current || !reservation) return create(undefined)
    let result
    try {
      result = await create({ workerId: reservation.workerId, lockedUntilIso: isoAt(reservation.lockedUntilMs), limit: reservation.slots })
    } catch (error) {
      current.adopt(reservation, [])
      throw error
    }
    current.adopt(
      reservation,
      result.handedOver.map(({ job, context }) => ({ ...toClaimedJob(job), prefetched: context })),
    )
    return result
  }
}
