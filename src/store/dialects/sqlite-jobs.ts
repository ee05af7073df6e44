/**
 * SQLite's job claim. SQLite has one writer, so a claim cannot race another claim: the whole
 * `UPDATE … RETURNING` runs inside `BEGIN IMMEDIATE`, which takes the write lock before the statement
 * reads anything. Another process on the same file then waits (busy_timeout) instead of failing with
 * SQLITE_BUSY_SNAPSHOT halfway through a read-then-write.
 *
 * Invariant: no two jobs of one lane are running under live leases. It holds because every claim sees
 * every committed change, including the claims before it, and `laneIsFree` refuses a candidate while a
 * job of its lane runs or a smaller id waits; a single claim takes only the smallest live id of a lane.
 */
import { sql, type Kysely, type Selectable } from 'kysely'
import type { Database, JobsTable } from '../schema.js'
import type { ClaimJobsInput, JobsDialect } from './dialect-setup.js'
import { laneIsFree } from './jobs-lane-rule.js'

/**
 * The candidates come from two bounded scans, never one `OR`: with `OR` SQLite reads every due row,
 * checks its lane and sorts them all before applying the limit. Each branch here stops after `limit`
 * hits. Jobs whose worker died (expired leases, few) go first; then due jobs in `run_at` order straight
 * off `jobs_ready_idx (state, run_at)`, so jobs scheduled for later (backing off) are never read.
 * Cost grows with the blocked rows the scan passes before it finds `limit` free ones (later jobs of
 * busy lanes). Measured with test/queue/claim-bench.ts (2 vCPU, synchronous=FULL, 10,000 jobs over
 * 1,000 lanes): claim + complete of 8 in 1.5 ms (5,300 jobs/s), a runner at concurrency 32 ~12,000
 * no-op jobs/s; behind one lane's blocked backlog of 5,000, 4.5 ms per claim + complete.
 */
async function claimJobs(db: Kysely<Database>, input: ClaimJobsInput): Promise<Selectable<JobsTable>[]> {
  const { workerId, limit, nowIso, lockedUntilIso } = input
  return db.connection().execute(async (connection) => {
    // A claim lost to a power cut only leaves its jobs claimable again (what a worker crash does), so
    // it commits without waiting for the disk, like PostgreSQL's claim (synchronous_commit = off). The
    // next FULL commit makes it durable anyway: the WAL is written in order.
    await sql`pragma synchronous = NORMAL`.execute(connection)
    await sql`begin immediate`.execute(connection)
    try {
      const result = await sql<Selectable<JobsTable>>`
        update jobs
        set state = 'running', locked_by = ${workerId}, locked_until = ${lockedUntilIso},
            attempts = attempts + 1, updated_at = ${nowIso}
        where id in (
          select id from (
            select j.id from jobs j
            where j.state = 'running' and j.locked_until < ${nowIso} and ${laneIsFree(nowIso)}
            limit ${limit}
          )
          union all
          select id from (
            select j.id from jobs j
            where j.state = 'pending' and j.run_at <= ${nowIso} and ${laneIsFree(nowIso)}
            order by j.run_at
            limit ${limit}
          )
          limit ${limit}
        )
        returning *`.execute(connection)
      await sql`commit`.execute(connection)
      return result.rows
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => {})
      throw error
    } finally {
      await sql`pragma synchronous = FULL`.execute(connection)
    }
  })
}

/** SQLite's implementation of the queue operations that differ by database. */
export const sqliteJobs: JobsDialect = { claimJobs }
