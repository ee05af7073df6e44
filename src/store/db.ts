/**
 * Opens the store: the only file that names the concrete dialects. Everything else receives a `Store`.
 */
import { join } from 'node:path'
import { Kysely, Migrator, sql } from 'kysely'
import type { Database } from './schema.js'
import type { DialectName, DialectSetup } from './dialects/dialect-setup.js'
import { createSqliteSetup } from './dialects/sqlite.js'
import { createPostgresSetup } from './dialects/postgres.js'
import { migrationProvider } from './migrations/index.js'
import type { FlowStore } from './flow/flow-store.js'

export type { FlowStore }

export interface StoreOptions {
  /** `postgres://…` selects PostgreSQL; undefined selects SQLite at `sqliteFile`. */
  databaseUrl?: string | undefined
  sqliteFile?: string
  dataDir?: string
  poolSize?: number
}

export interface Store {
  /** Kysely, for the admin API, migrations and other cold paths. */
  readonly db: Kysely<Database>
  /** The hot path: what each message writes on its way through (flow/flow-store.ts). */
  readonly flow: FlowStore
  readonly dialect: DialectName
  isUniqueViolation(error: unknown): boolean
  /** Whether a thrown error means the database is unreachable or busy: answer 503, retry later. */
  isUnavailable(error: unknown): boolean
  /**
   * True when one process owns the database (SQLite): jobs found running at start-up were orphaned by a
   * crash. False for PostgreSQL, where they may belong to a live process and wait out their lease.
   */
  readonly isSingleProcess: boolean
  /** Applies pending migrations; safe to run from several processes at once (Kysely takes a lock). */
  migrate(): Promise<void>
  /** True when the database answers and every migration is applied. */
  isReady(): Promise<boolean>
  close(): Promise<void>
}

export function createStore(options: StoreOptions): Store {
  const setup: DialectSetup = options.databaseUrl
    ? createPostgresSetup(options.databaseUrl, options.poolSize ?? 20)
    : createSqliteSetup(options.sqliteFile ?? join(options.dataDir ?? './data', 'switchboard.db'))
  const db = new Kysely<Database>({ dialect: setup.dialect })
  const migrator = new Migrator({ db, provider: migrationProvider })
  let closed = false

  return {
    db,
    flow: setup.flow,
    dialect: setup.name,
    isUniqueViolation: setup.isUniqueViolation,
    isUnavailable: setup.isUnavailable,
    isSingleProcess: setup.isSingleProcess,
    async migrate() {
      const { error, results } = await migrator.migrateToLatest()
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')
        throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error })
      }
    },
    async isReady() {
      try {
        await sql`select 1`.execute(db)
        await setup.flow.ping()
        const migrations = await migrator.getMigrations()
        return migrations.every((m) => m.executedAt !== undefined)
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      await setup.flow.close()
      await db.destroy()
    },
  }
}
