/**
 * SQLite: one file, one process. Two connections write it: the flow thread's, for the hot path
 * (`sqlite-flow.ts`), and this one, Kysely's, for the admin API and other cold paths. WAL lets readers
 * run beside the writer, and each writer waits for the other (`busy_timeout`).
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDatabase as KyselySqliteDatabase, type SqliteStatement } from 'kysely'
import type { DialectSetup } from './dialect-setup.js'
import { createSqliteFlow } from './sqlite-flow.js'
import { applySqlitePragmas } from './sqlite-flow-protocol.js'

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

/**
 * Kysely begins transactions with a deferred `BEGIN`. With a second writing connection (the flow
 * thread) a deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT whenever the
 * other committed in between; `BEGIN IMMEDIATE` takes the write lock first and waits for it instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: KyselySqliteDatabase
  constructor(database: KyselySqliteDatabase) {
    super({ database })
    this.#database = database
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database })
  }
}

export function createSqliteSetup(file: string): DialectSetup {
  mkdirSync(dirname(file), { recursive: true })
  const database = new SqliteDatabase(file)
  applySqlitePragmas(database)
  return {
    name: 'sqlite',
    dialect: new ImmediateSqliteDialect(withStatementCache(database)),
    flow: createSqliteFlow(file),
    isUnavailable: (error) =>
      typeof error === 'object' &&
      error !== null &&
      /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)/.test(String((error as { code?: unknown }).code)),
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT_UNIQUE'),
    isSingleProcess: true,
  }
}
