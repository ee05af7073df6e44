/**
 * The hot path on SQLite, as the main thread sees it: each `FlowStore` call becomes a command for the
 * flow thread (`sqlite-flow-thread.ts`), which owns the writing connection. The commands of one
 * event-loop turn travel in one message; the thread commits whatever it has in one transaction and
 * answers after the commit. The thread starts with the store (a first webhook must not wait for it)
 * and keeps the process alive only while calls are open.
 *
 * Durability without waiting: the thread commits with `synchronous = NORMAL` (the WAL is written, not
 * flushed) and goes straight on to its next batch; this side runs an `fdatasync` of the WAL (on libuv's
 * pool) and settles the callers of a batch only when a flush that began after the batch's commit has
 * returned. The WAL is appended in order, so one flush makes every commit before it durable: flushes
 * form their own group, one in flight, the batches answered meanwhile sharing the next. A checkpoint
 * flushes the WAL itself before it copies a page (SQLite does that with NORMAL too), so a frame is on
 * disk in the WAL or in the database file before its caller hears of it. Waiting in the thread instead
 * (`synchronous = FULL`) stopped it for each flush (0.4 ms plus ~1 ms per MB here); waiting there for a
 * callback held every reply until the next batch had run.
 */
import { closeSync, fdatasync, openSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import type { FlowStore } from '../flow/flow-store.js'
import type { CheckpointThreadData, FlowCommand, FlowReply, FlowThreadData } from './sqlite-flow-protocol.js'

/** A thread module next to this file: `.js` when built, `.ts` when run from source under tsx. */
function threadUrl(name: string): URL {
  return new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
}

/**
 * Starts a thread. Node 20 does not hand a worker the parent's `--import` loaders, so under tsx
 * (tests, `npm run sandbox`) the worker first registers tsx itself; the built gateway needs no loader.
 */
function startThread(url: URL, data: FlowThreadData | CheckpointThreadData): Worker {
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData: data })
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(boot, { eval: true, workerData: data })
}

/** How often the checkpoint thread copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 100

/** An error the thread reported, with the driver's code kept (`SQLITE_BUSY` means "retry later"). */
function toError(reported: { message: string; code: string | undefined }): Error {
  const error = new Error(reported.message) as Error & { code?: string }
  if (reported.code !== undefined) error.code = reported.code
  return error
}

export function createSqliteFlow(file: string): FlowStore {
  let thread: Worker | undefined
  let checkpointer: Worker | undefined
  let failed: Error | undefined
  let nextId = 1
  let outbox: FlowCommand[] = []
  let scheduled = false
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let idle: (() => void) | undefined
  // The WAL flush: its file, whether one is running, and the replies waiting for the next one.
  let walFd: number | undefined
  let flushing = false
  let unflushed: FlowReply[][] = []

  function failAll(error: Error): void {
    failed = error
    for (const entry of waiting.values()) entry.reject(error)
    waiting.clear()
    idle?.()
  }

  function ensureThread(): Worker {
    if (thread) return thread
    const started = startThread(threadUrl('sqlite-flow-thread'), { file })
    // It only ever helps: the process need not wait for it, and a failure of it fails nothing.
    checkpointer = startThread(threadUrl('sqlite-checkpoint-thread'), { file, intervalMs: CHECKPOINT_INTERVAL_MS })
    checkpointer.unref()
    checkpointer.on('error', () => {})
    started.on('message', (replies: FlowReply[]) => {
      unflushed.push(replies)
      if (!flushing) flushWal(started)
    })
    started.on('error', (error) => failAll(new Error(`the SQLite flow thread failed: ${error.message}`, { cause: error })))
    started.on('exit', (code) => {
      if (waiting.size > 0) failAll(new Error(`the SQLite flow thread exited (code ${code}) with ${waiting.size} operations open`))
      thread = undefined
    })
    thread = started
    return started
  }

  function flushWal(owner: Worker): void {
    const covered = unflushed
    unflushed = []
    flushing = true
    try {
      // The WAL exists from the thread's first commit on, and stays while a connection is open.
      walFd ??= openSync(`${file}-wal`, 'r')
    } catch (error) {
      failAll(new Error(`cannot open the SQLite WAL to flush it: ${(error as Error).message}`, { cause: error }))
      return
    }
    fdatasync(walFd, (error) => {
      flushing = false
      if (error) {
        // Committed but maybe not on disk, and nothing can make it so: fail everything from here on.
        failAll(new Error(`flushing the SQLite WAL failed: ${error.message}`, { cause: error }))
        return
      }
      for (const replies of covered) deliver(replies)
      if (unflushed.length > 0) flushWal(owner)
      else if (waiting.size === 0) {
        owner.unref()
        idle?.()
      }
    })
  }

  function deliver(replies: FlowReply[]): void {
    for (const reply of replies) {
      const entry = waiting.get(reply.id)
      if (!entry) continue
      waiting.delete(reply.id)
      if ('error' in reply) entry.reject(toError(reply.error))
      else entry.resolve(reply.result)
    }
  }

  function post(): void {
    scheduled = false
    const commands = outbox
    outbox = []
    const target = ensureThread()
    target.ref()
    try {
      target.postMessage(commands)
    } catch {
      // Some command cannot cross to the thread (too deeply nested, or not plain data). Throwing here,
      // outside every caller, would end the process; instead each command goes alone and only the ones
      // that cannot go fail, to their own callers.
      for (const command of commands) {
        try {
          target.postMessage([command])
        } catch (error) {
          const entry = waiting.get(command.id)
          waiting.delete(command.id)
          entry?.reject(new Error(`the ${command.op} operation's data cannot be passed to the SQLite thread: ${(error as Error).message}`))
        }
      }
      if (waiting.size === 0) {
        target.unref()
        idle?.()
      }
    }
  }

  function call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (failed) return Promise.reject(failed)
    return new Promise<T>((resolve, reject) => {
      const id = nextId++
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
      outbox.push({ id, op, args })
      if (!scheduled) {
        scheduled = true
        setImmediate(post)
      }
    })
  }

  // Started now, not at the first call: starting a thread takes tens of milliseconds (more under tsx).
  ensureThread().unref()

  return {
    // One process owns the file, and SQLite writes one transaction at a time: nothing can start a job of
    // a lane between a hand-over's lane check and its insert.
    handsOverJobs: true,
    ingest: (unit) => call('ingest', unit),
    claimJobs: (input) => call('claimJobs', input),
    settleJobs: (workerId, settlements, nowMs) => call('settleJobs', workerId, settlements, nowMs),
    extendJobLeases: (workerId, ids, lockedUntilMs) => call('extendJobLeases', workerId, ids, lockedUntilMs),
    messageContext: (messageId) => call('messageContext', messageId),
    completeInbound: (completion) => call('completeInbound', completion),
    queueOutbound: (start) => call('queueOutbound', start),
    failInbound: (messageId, error, nowMs) => call('failInbound', messageId, error, nowMs),
    markSendStarted: (messageId, expected, nowMs) => call('markSendStarted', messageId, expected, nowMs),
    markSent: (message, providerMessageId, nowMs) => call('markSent', message, providerMessageId, nowMs),
    clearSendStarted: (messageId, nowMs) => call('clearSendStarted', messageId, nowMs),
    failOutbound: (messageId, error, nowMs) => call('failOutbound', messageId, error, nowMs),
    recordDelivery: (delivery) => call('recordDelivery', delivery),
    updateInbound: (messageId, update, nowMs) => call('updateInbound', messageId, update, nowMs),
    queueOutboundMany: (batch) => call('queueOutboundMany', batch),
    dispatchBroadcast: (dispatch) => call('dispatchBroadcast', dispatch),
    conversationHistory: (conversationId, beforeMessageId, limit) => call('conversationHistory', conversationId, beforeMessageId, limit),
    resetHistory: (conversationId, messageId, nowMs) => call('resetHistory', conversationId, messageId, nowMs),
    insertMedia: (row) => call('insertMedia', row),
    closeWindow: (conversationId, nowMs) => call('closeWindow', conversationId, nowMs),
    setOptedOut: (conversationId, optedOut, nowMs) => call('setOptedOut', conversationId, optedOut, nowMs),
    messageIdsByProviderIds: (channelId, ids) => call('messageIdsByProviderIds', channelId, ids),
    lastChoiceMessage: (conversationId) => call('lastChoiceMessage', conversationId),
    // SQLite keeps no dead row versions: a deleted job's space is reused by the next insert.
    vacuumQueue: async () => 0,
    ping: () => call('ping'),
    async close() {
      if (waiting.size > 0 || scheduled) await new Promise<void>((resolve) => (idle = resolve))
      idle = undefined
      const closing = thread
      if (!closing) return
      const helper = checkpointer
      checkpointer = undefined
      if (helper) {
        const helperExited = new Promise<void>((resolve) => helper.once('exit', () => resolve()))
        helper.ref()
        helper.postMessage('close')
        await helperExited
      }
      const exited = new Promise<void>((resolve) => closing.once('exit', () => resolve()))
      // Held open until the thread has closed the file.
      closing.ref()
      closing.postMessage('close')
      await exited
      if (walFd !== undefined) closeSync(walFd)
      walFd = undefined
    },
  }
}
