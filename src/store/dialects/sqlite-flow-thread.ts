/**
 * The SQLite flow thread: owns the connection that writes the hot path, and runs the operations the
 * main thread posts (`sqlite-flow.ts`). Everything that arrives while the last batch ran is the next
 * batch: one `BEGIN IMMEDIATE … COMMIT` for all of it, written to the WAL, which the main thread then
 * flushes once for every batch answered meanwhile. better-sqlite3 is synchronous: on the main thread
 * every statement would take the event loop's CPU and every commit would stop it for the disk (~0.4 ms
 * here, more under load); here neither does (BENCHMARKS.md).
 *
 * MUST: a reply is posted only after the batch holding its operation committed (the main thread then
 * flushes the WAL before it hands the reply on); an operation that fails is rolled back alone (a
 * savepoint each), and its caller gets the error.
 */
import { parentPort, workerData } from 'node:worker_threads'
import SqliteDatabase from 'better-sqlite3'
import { EVENT_ORDERING_GRACE_MS } from '../../core/events.js'
import { createFlowSql } from '../flow/flow-sql.js'
import * as ops from '../flow/flow-ops.js'
import type { BroadcastDispatch, DeliveryRow, InboundUpdate, IngestResult, IngestUnit, MediaRow, OutboundBatch, SentMessage } from '../flow/flow-store.js'
import type { SqlExecutor } from '../flow/sql-executor.js'
import { claimSqliteJobs } from './sqlite-jobs.js'
import { applySqlitePragmas, type FlowCommand, type FlowReply, type FlowThreadData } from './sqlite-flow-protocol.js'

/**
 * WAL pages (64 MB at 4 kB pages) at which this thread checkpoints itself: a backstop only, the
 * checkpoint thread (`sqlite-checkpoint-thread.ts`) copies the pages meanwhile.
 */
const CHECKPOINT_PAGES = 16_000

const { file } = workerData as FlowThreadData
const port = parentPort!
const database = new SqliteDatabase(file)
applySqlitePragmas(database)
// Commits write the WAL and return; the main thread flushes it before anyone hears of the commit
// (sqlite-flow.ts), so this thread never waits for the disk.
database.pragma('synchronous = NORMAL')
database.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`)

// One writer commits in the order the thread runs its operations, but an operation's time (and so its
// event's id) is taken on the main thread when it is asked for, a few ms before it runs: the bench saw
// events of one conversation 1-31 ms out of order without a grace. The same grace as PostgreSQL's.
const sql = createFlowSql({ jsonRows: (param) => `json_each(${param}) as r`, eventOrderingGraceMs: EVENT_ORDERING_GRACE_MS, writableCtes: false })

const statements = new Map<string, SqliteDatabase.Statement>()
function statement(text: string): SqliteDatabase.Statement {
  let prepared = statements.get(text)
  if (prepared === undefined) {
    prepared = database.prepare(text)
    statements.set(text, prepared)
  }
  return prepared
}

/** SQLite reads `$1` as the named parameter "1": bind the values by number. */
function bind(params: readonly unknown[]): Record<string, unknown> {
  const named: Record<string, unknown> = {}
  for (let i = 0; i < params.length; i++) named[i + 1] = params[i]
  return named
}

const executor: SqlExecutor = {
  async all<Row>(text: string, params: readonly unknown[]) {
    return statement(text).all(bind(params)) as Row[]
  },
  async run(text: string, params: readonly unknown[]) {
    return statement(text).run(bind(params)).changes
  },
}

/**
 * The operations the main thread may ask for, by name (the arguments come as posted). Those of one
 * statement are atomic by themselves; the others run in a savepoint (`MULTI_STATEMENT`), which costs
 * two more statements, so only they pay for it.
 */
const MULTI_STATEMENT = new Set([
  'settleJobs', 'extendJobLeases', 'completeInbound', 'queueOutbound', 'queueOutboundMany', 'dispatchBroadcast',
  // A change and the event that reports it (store/flow/events.ts).
  'failInbound', 'markSent', 'failOutbound',
])
const OPERATIONS: Record<string, (...args: never[]) => Promise<unknown>> = {
  claimJobs: (input: Parameters<typeof claimSqliteJobs>[1]) => claimSqliteJobs(executor, input),
  settleJobs: (...args: [string, never[], number]) => ops.settleJobs(executor, sql, ...args),
  extendJobLeases: (...args: [string, string[], number]) => ops.extendJobLeases(executor, sql, ...args),
  messageContext: (messageId: string) => ops.messageContext(executor, sql, messageId),
  completeInbound: (completion: Parameters<typeof ops.completeInbound>[2]) => ops.completeInbound(executor, sql, completion),
  queueOutbound: (start: Parameters<typeof ops.queueOutbound>[2]) => ops.queueOutbound(executor, sql, start),
  failInbound: (...args: [string, { code: string; message: string }, number]) => ops.failInbound(executor, sql, ...args),
  updateInbound: (...args: [string, InboundUpdate, number]) => ops.updateInbound(executor, sql, ...args),
  queueOutboundMany: (batch: OutboundBatch) => ops.queueOutboundMany(executor, sql, batch),
  dispatchBroadcast: (dispatch: BroadcastDispatch) => ops.dispatchBroadcast(executor, sql, dispatch),
  conversationHistory: (...args: [string, string, number]) => ops.conversationHistory(executor, sql, ...args),
  resetHistory: (...args: [string, string, number]) => ops.resetHistory(executor, sql, ...args),
  insertMedia: (row: MediaRow) => ops.insertMedia(executor, sql, row),
  closeWindow: (...args: [string, number]) => ops.closeWindow(executor, sql, ...args),
  setOptedOut: (...args: [string, boolean, number]) => ops.setOptedOut(executor, sql, ...args),
  messageIdsByProviderIds: (...args: [string, string[]]) => ops.messageIdsByProviderIds(executor, sql, ...args),
  lastChoiceMessage: (conversationId: string) => ops.lastChoiceMessage(executor, sql, conversationId),
  markSendStarted: (...args: [string, string | null, number]) => ops.markSendStarted(executor, sql, ...args),
  markSent: (...args: [SentMessage, string, number]) => ops.markSent(executor, sql, ...args),
  clearSendStarted: (...args: [string, number]) => ops.clearSendStarted(executor, sql, ...args),
  failOutbound: (...args: [string, { code: string; message: string }, number]) => ops.failOutbound(executor, sql, ...args),
  recordDelivery: (delivery: DeliveryRow) => ops.recordDelivery(executor, sql, delivery),
  ping: async () => {
    await executor.all('select 1', [])
  },
}

/** Runs `work` in a savepoint: kept on success, undone alone on failure. */
async function inSavepoint<T>(work: () => Promise<T>): Promise<T> {
  database.exec('savepoint flow_op')
  try {
    const result = await work()
    database.exec('release flow_op')
    return result
  } catch (error) {
    database.exec('rollback to flow_op')
    database.exec('release flow_op')
    throw error
  }
}

function errorReply(id: number, error: unknown): FlowReply {
  const { message, code } = error as { message?: unknown; code?: unknown }
  return { id, error: { message: typeof message === 'string' ? message : String(error), code: typeof code === 'string' ? code : undefined } }
}

/** Bounds a batch, so one huge backlog does not make one huge transaction and one late reply for all. */
const MAX_BATCH = 4000

let pending: FlowCommand[] = []
let scheduled = false

async function runBatch(batch: FlowCommand[]): Promise<FlowReply[]> {
  const replies: FlowReply[] = []
  const ingests = batch.filter((command) => command.op === 'ingest')
  try {
    database.exec('begin immediate')
  } catch (error) {
    return batch.map((command) => errorReply(command.id, error))
  }
  try {
    if (ingests.length > 0) {
      const units = ingests.map((command) => command.args[0] as IngestUnit)
      const outcomes = await ops.ingestGroup((group) => inSavepoint(() => ops.ingestUnits(executor, sql, group)), units)
      outcomes.forEach((outcome, index) => {
        const id = ingests[index]!.id
        replies.push(outcome instanceof Error ? errorReply(id, outcome) : { id, result: outcome satisfies IngestResult })
      })
    }
    for (const command of batch) {
      if (command.op === 'ingest') continue
      const operation = OPERATIONS[command.op]
      try {
        if (!operation) throw new Error(`the SQLite flow thread has no operation "${command.op}"`)
        const run = () => operation(...(command.args as never[]))
        const result = await (MULTI_STATEMENT.has(command.op) ? inSavepoint(run) : run())
        replies.push({ id: command.id, result })
      } catch (error) {
        // Some errors (a full disk, an I/O error) make SQLite roll the whole transaction back; the rest
        // of the batch must not then run outside it, one autocommit statement at a time.
        if (!database.inTransaction) throw error
        replies.push(errorReply(command.id, error))
      }
    }
    database.exec('commit')
    return replies
  } catch (error) {
    // The commit itself failed (disk full, I/O error): nothing of the batch is stored.
    if (database.inTransaction) database.exec('rollback')
    return batch.map((command) => errorReply(command.id, error))
  }
}

async function drain(): Promise<void> {
  while (pending.length > 0) {
    const batch = pending.slice(0, MAX_BATCH)
    pending = pending.slice(batch.length)
    // Committed, but not yet flushed: the main thread flushes the WAL before it hands these out.
    port.postMessage(await runBatch(batch))
  }
  scheduled = false
}

port.on('message', (message: FlowCommand[] | 'close') => {
  if (message === 'close') {
    // The main thread waits for every reply before it asks; nothing is pending here.
    database.close()
    port.close()
    return
  }
  pending.push(...message)
  // Whatever else is already queued on the port arrives before this runs, and joins the batch.
  if (scheduled) return
  scheduled = true
  setImmediate(() => void drain())
})
