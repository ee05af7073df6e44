/** The job handlers, by task name: the map `main` hands the queue runner. */
import type { Task } from '../queue/job.js'
import { createHandleInboundTask } from './handle-inbound.js'
import { createSendOutboundTask } from './send-outbound.js'
import { INBOUND_TASK, OUTBOUND_TASK } from './lanes.js'
import { ProviderCache } from './provider-cache.js'
import type { TaskDeps } from './task-deps.js'

export { INBOUND_JOB, INBOUND_TASK, OUTBOUND_JOB, OUTBOUND_TASK, inboundLane, outboundLane } from './lanes.js'
export { createPacer, type Pacer } from './pacer.js'
export type { TaskDeps } from './task-deps.js'

export function createTasks(deps: TaskDeps): Record<string, Task> {
  const providers = new ProviderCache(deps.providerDeps)
  return {
    [INBOUND_TASK]: createHandleInboundTask(deps, providers),
    [OUTBOUND_TASK]: createSendOutboundTask(deps, providers),
  }
}
export { createBotCache } from './bot-cache.js'
