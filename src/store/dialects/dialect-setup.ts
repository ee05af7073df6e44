/** What each dialect file hands `db.ts`: the Kysely dialect and the few facts that differ by database. */
import type { Dialect } from 'kysely'

export type DialectName = 'sqlite' | 'postgres'

export interface DialectSetup {
  readonly name: DialectName
  readonly dialect: Dialect
  /** Whether a thrown driver error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean
}
