/**
 * PostgreSQL: the store for several gateway instances sharing one database. A pool per process, shared
 * by Kysely (cold paths) and the hot path (`postgres-flow.ts`); job claims use `FOR UPDATE SKIP LOCKED`
 * so instances never take the same job.
 */
import pg from 'pg'
import { PostgresDialect } from 'kysely'
import type { DialectSetup } from './dialect-setup.js'
import { createPostgresFlow } from './postgres-flow.js'

export function createPostgresSetup(connectionString: string, poolSize: number): DialectSetup {
  // No gateway transaction waits on anything but the database, so one idle for seconds belongs to a
  // frozen process; ending it releases its locks, above all the job claim's advisory lock every
  // instance waits on.
  const openPool = (max: number) => {
    const pool = new pg.Pool({ connectionString, max, idle_in_transaction_session_timeout: 5_000 })
    // An idle client losing its connection (database restart) must not crash the process.
    pool.on('error', () => {})
    // Nor a checked-out one: pg emits 'error' on the client itself and the pool listens only while it is
    // idle. The query in flight fails on its own; the broken client is discarded at release.
    pool.on('connect', (client) => client.on('error', () => {}))
    return pool
  }
  const pool = openPool(poolSize)
  return {
    name: 'postgres',
    dialect: new PostgresDialect({ pool }),
    // Leases are renewed on a connection of their own: behind a busy pool's queue a renewal came too late,
    // and jobs still running here were taken over by other instances (test/crash/scale-out.test.ts).
    flow: createPostgresFlow(pool, openPool(1)),
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
  }
}
