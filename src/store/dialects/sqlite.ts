/**
 * SQLite: one file, one writer. WAL lets readers run beside the writer; `synchronous=FULL` makes each
 * commit survive power loss, which is affordable because commits of concurrent webhooks are grouped.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { SqliteDialect, type SqliteDatabase as KyselySqliteDatabase, type SqliteStatement } from 'kysely'
import type { DialectSetup } from './dialect-setup.js'
import { sqliteJobs } from './sqlite-jobs.js'

/**
 * Kysely's SQLite driver prepares every statement anew; compiling the SQL cost ~10 % of the webhook
 * path in the benchmark's profile (BENCHMARKS.md). Statements are reused by their SQL text, bounded
 * because multi-row inserts make one text per row count. better-sqlite3 runs a statement to completion
 * synchronously, so one prepared statement is never used by two queries at once.
 */
function withStatementCache(database: SqliteDatabase.Database, max = 512): KyselySqliteDatabase {
  const cache = new Map<string, SqliteStatement>()
  return {
    prepare(sql) {
      let statement = cache.get(sql)
      if (statement === undefined) {
        statement = database.prepare(sql) as unknown as SqliteStatement
        if (cache.size >= max) cache.delete(cache.keys().next().value as string)
        cache.set(sql, statement)
      }
      return statement
    },
    close() {
      cache.clear()
      database.close()
    },
  }
}

export function createSqliteSetup(file: string): DialectSetup {
  mkdirSync(dirname(file), { recursive: true })
  const database = new SqliteDatabase(file)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('foreign_keys = ON')
  database.pragma('busy_timeout = 5000')
  return {
    name: 'sqlite',
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
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
