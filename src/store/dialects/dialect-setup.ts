/** What each dialect file hands `db.ts`: the Kysely dialect and the few facts that differ by database. */
import type { Dialect, Kysely, Selectable } from 'kysely'
import type { Database, JobsTable } from '../schema.js'

export type DialectName = 'sqlite' | 'postgres'

/** What one claim asks for. Times are ISO text, like every stored timestamp, taken from the caller's Clock. */
export interface ClaimJobsInput {
  workerId: string
  /** At most this many jobs, never two of one lane. */
  limit: number
  nowIso: string
  /** The lease given to each claimed job: `now + leaseMs`. */
  lockedUntilIso: string
}

/** The queue operations whose SQL differs by database (Kysely keeps such differences in the dialect). */
export interface JobsDialect {
  /**
   * Marks up to `limit` claimable jobs running for `workerId` (attempts + 1, lease until `lockedUntilIso`)
   * and returns their rows in any order. Claimable: ready (pending and due, or running with an expired
   * lease) and at the head of its lane. Each implementation states why no two jobs of a lane can run at once.
   */
  claimJobs(db: Kysely<Database>, input: ClaimJobsInput): Promise<Selectable<JobsTable>[]>
}

export interface DialectSetup {
  readonly name: DialectName
  readonly dialect: Dialect
  /** Whether a thrown driver error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean
  /** Whether a thrown driver error means the database is unreachable or busy (worth a retry later). */
  isUnavailable(error: unknown): boolean
  /**
   * True when one process owns the database (SQLite): a job found running at start-up was orphaned by a
   * crash and can be released at once instead of waiting out its lease.
   */
  readonly isSingleProcess: boolean
  readonly jobs: JobsDialect
}
