/**
 * The databases every store and API test runs against (Kysely's DIALECTS loop): a real SQLite file in a
 * temp folder, and a fresh database on the PostgreSQL server at 127.0.0.1:5432. Where PostgreSQL does not
 * answer, its runs are skipped with a visible line, unless SWITCHBOARD_REQUIRE_POSTGRES=1 (as in CI),
 * which makes that a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createStore, type Store } from '../../src/store/db.js'

export type DialectName = 'sqlite' | 'postgres'
export const DIALECTS: DialectName[] = ['sqlite', 'postgres']

const ADMIN_URL = process.env.SWITCHBOARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let postgresAnswers: Promise<boolean> | undefined

/** Whether the test PostgreSQL server answers (asked once per process). */
export function postgresAvailable(): Promise<boolean> {
  postgresAnswers ??= (async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.query('select 1')
      return true
    } catch {
      return false
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return postgresAnswers
}

/**
 * Returns a skip reason for the dialect, or undefined when it can run. Throws when PostgreSQL is
 * required but missing.
 */
export async function skipReason(dialect: DialectName): Promise<string | undefined> {
  if (dialect === 'sqlite') return undefined
  if (await postgresAvailable()) return undefined
  if (process.env.SWITCHBOARD_REQUIRE_POSTGRES === '1') {
    throw new Error(`PostgreSQL at ${ADMIN_URL} does not answer, and SWITCHBOARD_REQUIRE_POSTGRES=1 requires it`)
  }
  const reason = `PostgreSQL at ${ADMIN_URL} does not answer: PostgreSQL runs SKIPPED`
  console.warn(`\n*** ${reason} ***\n`)
  return reason
}

export interface TestDatabase {
  dialect: DialectName
  /** `postgres://…` for PostgreSQL, undefined for SQLite. */
  databaseUrl: string | undefined
  /** Folder for the SQLite file and key file. */
  dataDir: string
  /** Drops the database and removes the folder. */
  drop(): Promise<void>
}

/** Creates an empty database of the dialect: a temp folder for SQLite, a fresh database for PostgreSQL. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'))
  if (dialect === 'sqlite') {
    return {
      dialect,
      databaseUrl: undefined,
      dataDir,
      async drop() {
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  }
  const name = `sb_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    dialect,
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      rmSync(dataDir, { recursive: true, force: true })
      const client = new pg.Client({ connectionString: ADMIN_URL })
      await client.connect()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

/** A migrated store on a fresh database of the dialect. */
export async function createTestStore(dialect: DialectName): Promise<{ store: Store; database: TestDatabase; cleanup(): Promise<void> }> {
  const database = await createTestDatabase(dialect)
  const store = createStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, poolSize: 5 })
  await store.migrate()
  return {
    store,
    database,
    async cleanup() {
      await store.close()
      await database.drop()
    },
  }
}
