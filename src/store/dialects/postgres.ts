/**
 * PostgreSQL: the store for several gateway instances sharing one database. A pool per process; job
 * claims use `FOR UPDATE SKIP LOCKED` so instances never take the same job.
 */
import pg from 'pg'
import { PostgresDialect } from 'kysely'
import type { DialectSetup } from './dialect-setup.js'
import { postgresJobs } from './postgres-jobs.js'

export function createPostgresSetup(connectionString: string, poolSize: number): DialectSetup {
  const pool = new pg.Pool({ connectionString, max: poolSize })
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {})
  return {
    name: 'postgres',
    dialect: new PostgresDialect({ pool }),
    isUnavailable: (error) => {
      const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code) : ''
      const message = error instanceof Error ? error.message : ''
      // Class 08 (connection exception), 57P0x (shutdown, crash recovery), 53300 (too many connections),
      // and the socket errors node reports when the server goes away.
      return (
        /^(08|57P0|53300)/.test(code) ||
        ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code) ||
        /Connection terminated|timeout exceeded when trying to connect/i.test(message)
      )
    },
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505',
    isSingleProcess: false,
    jobs: postgresJobs,
  }
}
