/**
 * The SQLite checkpointer: copies committed pages from the WAL into the database file, on a connection
 * and a thread of its own. Done by the flow thread after its commits (SQLite's default), a checkpoint
 * stopped that thread for its page copies and its two flushes (the WAL, then the database file): ~30 µs
 * of every message ingested here, in bursts of several ms. PASSIVE checkpoints take no lock writers
 * wait for. Under a steady stream of writes they rarely catch up with the WAL's end, so the WAL would
 * never start over; the flow thread therefore still checkpoints once its WAL reaches a backstop size,
 * copying only what is left, and the next write starts the WAL over.
 */
import { parentPort, workerData } from 'node:worker_threads'
import SqliteDatabase from 'better-sqlite3'
import { applySqlitePragmas, type CheckpointThreadData } from './sqlite-flow-protocol.js'

const { file, intervalMs } = workerData as CheckpointThreadData
const port = parentPort!
const database = new SqliteDatabase(file)
applySqlitePragmas(database)
database.pragma('wal_autocheckpoint = 0')

const timer = setInterval(() => {
  try {
    database.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // Busy or failing now: the next round tries again, and the flow thread's backstop bounds the WAL.
  }
}, intervalMs)

port.on('message', (message: 'close') => {
  if (message !== 'close') return
  clearInterval(timer)
  database.close()
  port.close()
})
