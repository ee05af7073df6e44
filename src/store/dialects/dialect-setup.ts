/** What each dialect file hands `db.ts`: the Kysely dialect, the hot path, and the few facts that differ by database. */
import type { Dialect } from 'kysely'
import type { FlowStore } from '../flow/flow-store.js'

export type DialectName = 'sqlite' | 'postgres'

export interface DialectSetup {
  readonly name: DialectName
  /** Kysely's dialect, for the admin API, migrations and other cold paths. */
  readonly dialect: Dialect
  /** The hot path (flow-store.ts): where and how its statements run is the dialect's choice. */
  readonly flow: FlowStore
  /** Whether a thrown driver error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean
  /** Whether a thrown driver error means the database is unreachable or busy (worth a retry later). */
  isUnavailable(error: unknown): boolean
  /**
   * True when one process owns the database (SQLite): a job found running at start-up was orphaned by a
   * crash and can be released at once instead of waiting out its lease.
   */
  readonly isSingleProcess: boolean
}
