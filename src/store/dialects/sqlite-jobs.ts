/**
 * SQLite's job claim. SQLite has one writer, so a claim cannot race another claim: it runs inside the
 * flow thread's write transaction (`BEGIN IMMEDIATE`, which takes the write lock before the statement
 * reads anything). Another connection on the same file then waits (busy_timeout) instead of failing with
 * SQLITE_BUSY_SNAPSHOT halfway through a read-then-write.
 *
 * Invariant: no two jobs of one lane are running under live leases. It holds because every claim sees
 * every committed change, including the claims before it, and `laneIsFree` refuses a candidate while a
 * job of its lane runs or a smaller id waits; a single claim takes only the smallest live id of a lane.
 */
import type { ClaimedJobRow, ClaimJobsInput } from '../flow/flow-store.js'
import type { SqlExecutor } from '../flow/sql-executor.js'
import { laneIsFree } from './jobs-lane-rule.js'

/**
 * The candidates come from two bounded scans, never one `OR`: with `OR` SQLite reads every due row,
 * checks its lane and sorts them all before applying the limit. Each branch here stops after `limit`
 * hits. Jobs whose worker died (expired leases, few) go first; then due jobs in `run_at` order straight
 * off `jobs_ready_idx (queue, state, run_at)`, so jobs scheduled for later (backing off), and jobs of
 * the other queue (event deliveries have a runner of their own), are never read.
 * Cost grows with the blocked rows the scan passes before it finds `limit` free ones (later jobs of
 * busy lanes). Measured with test/queue/claim-bench.ts (2 vCPU, synchronous=FULL, 10,000 jobs over
 * 1,000 lanes): claim + complete of 8 in 1.5 ms (5,300 jobs/s), a runner at concurrency 32 ~12,000
 * no-op jobs/s; behind one lane's blocked backlog of 5,000, 4.5 ms per claim + complete.
 */
const CLAIM = `
  update jobs
  set state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3
  where id in (
    select id from (
      select j.id from jobs j
      where j.queue = $5 and j.state = 'running' and j.locked_until < $3 and ${laneIsFree('$3')}
      limit $4
    )
    union all
    select id from (
      select j.id from jobs j
      where j.queue = $5 and j.state = 'pending' and j.run_at <= $3 and ${laneIsFree('$3')}
      order by j.run_at
      limit $4
    )
    limit $4
  )
  returning id, task, payload, lane, attempts, max_attempts`

/** Claims jobs; MUST run inside the caller's write transaction. */
export async function claimSqliteJobs(executor: SqlExecutor, input: ClaimJobsInput): Promise<ClaimedJobRow[]> {
  return executor.all<ClaimedJobRow>(CLAIM, [input.workerId, input.lockedUntilIso, input.nowIso, input.limit, input.queue])
}
