/**
 * The queue's public face: a generic durable job queue (graphile-worker's model) that knows nothing
 * about WhatsApp. Enqueue with `createJobQueue`, run with `createRunner` and a task map.
 */
export { createJobQueue, type JobQueue } from './job-queue.js'
export { createRunner, type JobReservation, type QueueLogger, type Runner, type RunnerEvents, type RunnerOptions } from './runner.js'
export { createHandOver, type HandOverFn } from './hand-over.js'
export { backoffCeilingMs, computeBackoffMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js'
export { coerceError, isPermanentError, retryAfterMsOf } from './job-error.js'
export { PermanentJobError, RetryLaterError } from './job.js'
export type { EnqueueSpec, Job, Task, TaskContext, TaskOutcome } from './job.js'
export { DEFAULT_MAX_ATTEMPTS, type DeadJobPage, type JobDepth, type JobRecord } from '../store/repos/jobs.js'
