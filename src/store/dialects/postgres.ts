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
    isUniqueViolation: (error) =>
      typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505',
    isSingleProcess: false,
    jobs: postgresJobs,
  }
}
