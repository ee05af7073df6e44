/**
 * `broadcast.dispatch`: turns a broadcast's recipients into outbound template messages, a second's worth
 * at a time. One job per broadcast, in the lane `broadcast:<id>`, so only one worker of all instances
 * dispatches a broadcast at once: the channel's rate holds across instances because the messages come
 * into being at that rate, whichever instance then sends them.
 *
 * Each run takes the next pending recipients (the channel's `throughput_mps`, or the provider's default,
 * per second since the last run), skips those who opted out meanwhile, and hands them to
 * `FlowStore.dispatchBroadcast`, which in ONE transaction marks them `queued`, creates their conversations
 * and messages and the `broadcast.send` jobs, and records each message id. A crash before that commit
 * leaves them pending (the next run takes them again); after it, they are no longer pending: no
 * recipient is queued twice or lost. The job then defers itself a second, and once nothing is pending
 * and none of its messages is still queued, marks the broadcast finished.
 *
 * The sends (`broadcast.send`, the same task as `outbound.send` at low pacing priority) run in each
 * conversation's outbound lane, so a reply to someone who writes goes before the broadcast's next send.
 */
import { providerKind, isProviderType } from '../providers/index.js'
import type { Task } from '../queue/job.js'
import {
  findBroadcastById,
  hasWorkLeft,
  finishBroadcast,
  pendingRecipients,
  skipOptedOut,
  unsentBacklog,
} from '../store/repos/broadcasts.js'
import type { OutboundBatchItem } from '../store/flow/flow-store.js'
import { BROADCAST_SEND_JOB } from './lanes.js'
import type { TaskDeps } from './task-deps.js'

/** Payload of a `broadcast.dispatch` job. */
export interface BroadcastPayload {
  broadcastId: string
}

/** The rhythm of dispatch: one batch a second. */
const TICK_MS = 1000

export function createSendBroadcastTask(deps: TaskDeps): Task {
  const { store, clock } = deps
  /** When this process last dispatched each broadcast: a late run makes up for the time it lost. */
  const lastRunAt = new Map<string, number>()

  return {
    backoff: { baseMs: 1000, maxMs: 60_000 },

    async run(payload) {
      const { broadcastId } = payload as BroadcastPayload
      const started = clock.now()
      const broadcast = await findBroadcastById(store.db, broadcastId)
      if (broadcast === undefined || broadcast.status !== 'running') {
        lastRunAt.delete(broadcastId)
        return
      }
      const channel = await deps.routing.channelById(broadcast.channelId)
      const providerRow = channel === undefined ? undefined : await deps.routing.providerById(channel.providerId)
      if (channel === undefined || providerRow === undefined) return
      const perSecond = channel.throughputMps ?? (isProviderType(providerRow.type) ? providerKind(providerRow.type).capabilities.defaultThroughputMps : 10)

      // A second's worth per second since the last run here (runs come a poll interval late), at most two.
      const previous = lastRunAt.get(broadcastId)
      const elapsedMs = previous === undefined ? TICK_MS : Math.min(started - previous, 2 * TICK_MS)
      const batchSize = Math.max(1, Math.round((perSecond * elapsedMs) / TICK_MS))
      lastRunAt.set(broadcastId, started)

      // Sends slower than dispatch (a slow provider, many replies): wait for them rather than pile up jobs.
      if ((await unsentBacklog(store.db, broadcastId, 3 * perSecond)) > 2 * perSecond) {
        return { retryInMs: TICK_MS, reason: 'pacing: waiting for earlier sends' }
      }

      const batch = await pendingRecipients(store.db, broadcastId, batchSize)
      if (batch.length === 0) {
        if (await hasWorkLeft(store.db, broadcastId)) return { retryInMs: TICK_MS, reason: 'waiting for the last sends' }
        if (await finishBroadcast(store.db, broadcastId, clock.now())) deps.logger.info({ broadcastId }, 'broadcast:finished')
        lastRunAt.delete(broadcastId)
        return
      }

      const skipped = await skipOptedOut(store.db, broadcastId, broadcast.channelId, batch.map((r) => r.position), clock.now())
      const template = broadcast.message
      const items = batch
        .filter((recipient) => !skipped.has(recipient.position))
        .map((recipient): OutboundBatchItem & { position: number } => {
          const params = recipient.params ?? template.params
          const message = { ...template, ...(params === undefined || params === null ? {} : { params }) }
          return {
            position: recipient.position,
            to: { phone: recipient.phone, bsuid: recipient.bsuid },
            messages: [{ type: 'template', text: null, payload: message }],
          }
        })
      if (items.length > 0) {
        const queued = await store.flow.dispatchBroadcast({
          broadcastId,
          teamId: broadcast.teamId,
          channelId: broadcast.channelId,
          items,
          author: 'broadcast',
          outboundJob: BROADCAST_SEND_JOB,
          nowMs: clock.now(),
        })
        if (Object.keys(queued).length > 0) deps.onJobsEnqueued()
      }
      return { retryInMs: Math.max(0, TICK_MS - (clock.now() - started)), reason: 'pacing' }
    },
  }
}
