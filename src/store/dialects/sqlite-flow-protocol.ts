/** What the main thread and the SQLite flow thread say to each other, and the connection settings both use. */
import type SqliteDatabase from 'better-sqlite3'

/** The flow thread's start-up data. */
export interface FlowThreadData {
  file: string
}

/** The checkpoint thread's start-up data. */
export interface CheckpointThreadData {
  file: string
  /** How often it copies the WAL into the database file. */
  intervalMs: number
}

/** One operation of `FlowStore`, by name, with its arguments. */
export interface FlowCommand {
  id: number
  op: string
  args: unknown[]
}

/** The outcome of one command: its result, or the error it failed with (message and driver code). */
export type FlowReply = { id: number; result: unknown } | { id: number; error: { message: string; code: string | undefined } }

/**
 * Settings of every connection to the file. WAL lets readers run beside the writer; `synchronous=FULL`
 * makes each commit survive power loss, which is affordable because commits are grouped. Two connections
 * write (the flow thread's and the main thread's for the admin API), so a writer waits for the other
 * (`busy_timeout`) instead of failing.
 */
export function applySqlitePragmas(database: SqliteDatabase.Database): void {
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = FULL')
  database.pragma('foreign_keys = ON')
  database.pragma('busy_timeout = 5000')
  // Savepoints and multi-row statements keep the pages they may have to restore in a journal of their
  // own; in a temporary file that is two system calls a page. In memory, the worker's operations took
  // half the time (80 → 39 µs an inbound reply, 80 → 52 µs a message ingested: BENCHMARKS.md).
  database.pragma('temp_store = MEMORY')
}
