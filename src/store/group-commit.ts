/**
 * Group commit: the writes of all webhooks that arrive in one event-loop turn share one transaction.
 * One commit (one fsync on SQLite) per request caps a durable receiver at the disk's flush rate (~4k/s);
 * grouping reached 0.74x the speed of storing nothing in the prototypes (PERFORMANCE-NOTES.md). Each
 * caller's promise resolves only after the transaction holding its work committed, so a webhook is
 * answered 200 only once what it carried is durable.
 *
 * If a grouped transaction fails, every unit is retried alone, so one bad request cannot fail others.
 */
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.js'

/** A unit of work: runs inside a transaction that may hold other units too. */
export type UnitOfWork<T> = (trx: Transaction<Database>) => Promise<T>

interface Pending {
  work: UnitOfWork<unknown>
  resolve(value: unknown): void
  reject(error: unknown): void
}

export interface GroupCommitter {
  /** Runs `work` in the next group transaction; resolves after that transaction committed. */
  run<T>(work: UnitOfWork<T>): Promise<T>
}

export function createGroupCommitter(db: Kysely<Database>, options: { maxBatch?: number } = {}): GroupCommitter {
  const maxBatch = options.maxBatch ?? 256
  let queue: Pending[] = []
  let scheduled = false
  // Only one group transaction at a time: SQLite has one writer anyway, and on PostgreSQL the next group
  // forms while this one commits, which is what makes grouping pay off.
  let flushing: Promise<void> = Promise.resolve()

  async function runAlone(item: Pending): Promise<void> {
    try {
      item.resolve(await db.transaction().execute((trx) => item.work(trx)))
    } catch (error) {
      item.reject(error)
    }
  }

  async function flush(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return runAlone(batch[0]!)
    let results: unknown[]
    try {
      results = await db.transaction().execute(async (trx) => {
        const out: unknown[] = []
        // Sequential on purpose: one connection, and statement order is the commit order of the units.
        for (const item of batch) out.push(await item.work(trx))
        return out
      })
    } catch {
      for (const item of batch) await runAlone(item)
      return
    }
    batch.forEach((item, index) => item.resolve(results[index]))
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      flushing = flushing.then(async () => {
        while (queue.length > 0) {
          const batch = queue.slice(0, maxBatch)
          queue = queue.slice(batch.length)
          await flush(batch)
        }
      })
    })
  }

  return {
    run<T>(work: UnitOfWork<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject })
        schedule()
      })
    },
  }
}
