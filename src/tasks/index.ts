/** The job handlers, by task name: the map `main` hands the queue runner. */
import type { Task } from '../queue/job.js'
import { createHandleInboundTask } from './handle-inbound.js'
import { createSendOutboundTask } from './send-outbound.js'
import { createSendBroadcastTask } from './send-broadcast.js'
import { BROADCAST_DISPATCH_TASK, BROADCAST_SEND_TASK, INBOUND_TASK, OUTBOUND_TASK } from './lanes.js'
import { ProviderCache } from './provider-cache.js'
import type { TaskDeps } from './task-deps.js'

export {
  BROADCAST_DISPATCH_TASK,
  BROADCAST_SEND_TASK,
  broadcastDispatchJob,
  INBOUND_JOB,
  INBOUND_TASK,
  OUTBOUND_JOB,
  OUTBOUND_TASK,
  inboundLane,
  outboundLane,
} from './lanes.js'
export { createPacer, type Pacer, type PacerPriority } from './pacer.js'
export type { TaskDeps } from './task-deps.js'

export function createTasks(deps: TaskDeps): Record<string, Task> {
  const providers = new ProviderCache(deps.providerDeps)
  return {
    [INBOUND_TASK]: createHandleInboundTask(deps, providers),
    [OUTBOUND_TASK]: createSendOutboundTask(deps, providers),
    // Replies to people who write go before a broadcast's sends on the same number.
    [BROADCAST_SEND_TASK]: createSendOutboundTask(deps, providers, { priority: 'low' }),
    [BROADCAST_DISPATCH_TASK]: createSendBroadcastTask(deps),
  }
}
export { createBotCache } from './bot-cache.js'
