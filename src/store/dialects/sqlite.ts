/**
 * SQLite: one file, one writer. WAL lets readers run beside the writer; `synchronous=FULL` makes each
 * commit survive power loss, which is affordable because commits of concurrent webhooks are grouped.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { SqliteDialect } from 'kysely'
import type { DialectSetup } from './dialect-setup.js'
import { sqliteJobs } from './sqlite-jobs.js'

export function createSqliteSetup(file: string): DialectSetup {
  mkdirSync(dirname(file), { recursive: true })
  const database = new SqliteDatabase(file)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('foreign_keys = ON')
  database.pragma('busy_timeout = 5000')
  return {
    name: 'sqlite',
    dialect: new SqliteDialect({ database }),
    isUnavailable: (error) =>
      typeof error === 'object' &&
      error !== null &&
      /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)/.test(String((error as { code?: unknown }).code)),
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT_UNIQUE'),
    isSingleProcess: true,
    jobs: sqliteJobs,
  }
}
