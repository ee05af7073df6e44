/**
 * The job queue's dead rows on PostgreSQL, reclaimed as they pile up.
 *
 * Every job leaves dead row versions behind (claimed: one; settled: one more), two jobs a message. Until
 * a vacuum removes them, every index scan of `jobs` walks their entries and visits the heap to find them
 * dead: the claim's lane checks and skip scan most of all. The bench measured it on a server with
 * autovacuum off: with ~120,000 dead rows at the end of a run the claim took 4.8 ms a call, and with this
 * vacuum 1.75 ms; end to end went from 211 to 329 msg/s (BENCHMARKS.md). Autovacuum, where it runs, wakes
 * at most once a minute per database (`autovacuum_naptime`), while the queue makes thousands of dead
 * rows a second, so the gateway does not wait for it either: any instance may vacuum, one at a time (an
 * advisory lock), and `skip_locked` steps aside when autovacuum is already at it.
 *
 * A plain `VACUUM` takes no lock that stops reads or writes of the table; it needs the table's owner
 * (the role that ran the migrations). For another role PostgreSQL only warns and vacuums nothing, and
 * the queue works as before, slower.
 */
import type pg from 'pg'

/** Advisory lock key (two int4, per database): 'SwBd', 3. Claims use 1 and 2 (postgres-jobs.ts). */
const VACUUM_LOCK = `${0x53774264}, 3`

/**
 * When dead rows are worth a vacuum: at least this many, and at least half as many as live ones (a
 * vacuum reads every index of the table whole, so a long backlog is vacuumed less often).
 */
export const QUEUE_VACUUM_MIN_DEAD_ROWS = 2_000

/** Returns the dead rows it found when it vacuumed, else 0. */
export async function vacuumQueueIfDue(pool: pg.Pool, minDeadRows = QUEUE_VACUUM_MIN_DEAD_ROWS): Promise<number> {
  const client = await pool.connect()
  let broken = false
  try {
    const { rows } = await client.query<{ dead: string; live: string }>(
      `select n_dead_tup as dead, n_live_tup as live from pg_stat_user_tables where relid = 'jobs'::regclass`,
    )
    const dead = Number(rows[0]?.dead ?? 0)
    const live = Number(rows[0]?.live ?? 0)
    if (dead < minDeadRows || dead < live / 2) return 0
    const { rows: locked } = await client.query<{ locked: boolean }>(`select pg_try_advisory_lock(${VACUUM_LOCK}) as locked`)
    if (locked[0]?.locked !== true) return 0
    try {
      await client.query('vacuum (skip_locked) jobs')
    } finally {
      await client.query(`select pg_advisory_unlock(${VACUUM_LOCK})`).catch(() => {
        // A session lock left behind would stop every instance's vacuums: the connection is not reused.
        broken = true
      })
    }
    return dead
  } catch (error) {
    broken = true
    throw error
  } finally {
    client.release(broken)
  }
}
