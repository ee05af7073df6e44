/**
 * The composition root: config → store → secrets → providers → bots → queue → HTTP → worker. Every
 * concrete choice is named here and nowhere else; `main.ts` only runs it.
 */
import { Agent } from 'undici'
import type { FastifyPluginAsync } from 'fastify'
import { isoAt, systemClock, type Clock } from './core/clock.js'
import { createSecretBox } from './core/secret-box.js'
import type { Config } from './config.js'
import { loadOrCreateKeyFile } from './key-file.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createStore, type Store } from './store/db.js'
import { createChannelsRepo } from './store/repos/channels.js'
import { createProvidersRepo } from './store/repos/providers.js'
import { createBotsRepo } from './store/repos/bots.js'
import { buildApp, type App } from './http/app.js'
import { bootstrapAdmin, createApiModule } from './api/index.js'
import { createConversationRoutes } from './api/conversations.js'
import { createBroadcastRoutes } from './api/broadcasts.js'
import { createJobRoutes } from './api/jobs.js'
import { createMediaRoutes } from './api/media.js'
import { createTemplateRoutes, createTemplateStatusApplier } from './api/templates.js'
import { createErasure, createMediaLibrary, createMediaLinkModule, type MediaLibrary } from './media/index.js'
import { createConsoleModule } from './console/console-module.js'
import { createApiDocsModule } from './api/openapi/docs-module.js'
import type { ApiDeps } from './api/api-deps.js'
import type { ProviderDeps } from './providers/provider.js'
import { createHandOver, createJobQueue, createRunner, type JobQueue, type Runner } from './queue/index.js'
import { RoutingCache } from './routing/routing-cache.js'
import { createStoreRoutingSource } from './routing/store-routing-source.js'
import { createSignatureFailureReporter } from './routing/health-reporter.js'
import { createBotHealthReporter } from './routing/bot-health-reporter.js'
import { createProviderEvidenceReporter } from './routing/provider-evidence-reporter.js'
import { createMetaWebhookModule, createTurnWebhookModule, createTwilioWebhookModule, markWindowClosures, type WebhookDeps } from './webhooks/index.js'
import { isProviderType, providerKind } from './providers/index.js'
import { EVENT_DELIVERY_TASK, EVENT_RETRY_WINDOW_MS, EVENTS_QUEUE } from './core/events.js'
import { createApiContext } from './api/api-context.js'
import { createEventDataRenderer } from './api/event-data.js'
import { expireHandovers } from './store/repos/conversations.js'
import { findEventWebhookForDelivery, pruneEventDeliveries } from './store/repos/event-webhooks.js'
import { createDeliverEventTask } from './tasks/deliver-event.js'
import { createEventWebhookCache } from './tasks/event-webhook-cache.js'
import { createOutboundAgent } from './http/outbound-agent.js'
import {
  BROADCAST_SEND_TASK,
  broadcastDispatchJob,
  createBotCache,
  createPacer,
  createTasks,
  INBOUND_JOB,
  INBOUND_TASK,
  inboundLane,
  OUTBOUND_JOB,
  OUTBOUND_TASK,
  outboundLane,
} from './tasks/index.js'

/** Timings tests shorten; production uses the defaults. */
export interface GatewayTuning {
  /** Queue poll interval when idle (a new webhook wakes the worker at once anyway). */
  pollIntervalMs: number
  /** How long a job lease lasts before another worker may take the job over. */
  leaseMs: number
  /** Bounded wait of a send left in doubt by a crash for a status webhook naming it (SPEC §6). */
  inDoubtWaitMs: number
  /** How often a send held by an invalid token looks at its provider again. */
  holdRecheckMs: number
  /** Backoff of task retries; a bound left out (or undefined) keeps each task's own. */
  retryBackoff: { baseMs?: number; maxMs?: number } | undefined
  /** Attempts before an inbound message fails (bot errors). */
  inboundMaxAttempts: number
  /** How long channel and provider lookups are cached on the webhook path. */
  routingTtlMs: number
  /** Whether this process runs the worker (a webhook-only instance sets false). */
  runWorker: boolean
  /** Time a graceful stop waits for running jobs before releasing them. */
  stopTimeoutMs: number
  /** How long a provider call (a send) may take before it counts as a network failure (in doubt). */
  providerTimeoutMs: number
  /** How often the typing indicator of a bot still working is shown again (WhatsApp drops it after 25 s). */
  typingRefreshMs: number
  /** Event deliveries run at once by this process (their own runner: SPEC §12.1). */
  eventConcurrency: number
  /** How long one event delivery may take (SPEC: 10 s). */
  eventTimeoutMs: number
  /** How long an event's delivery is retried before it goes dead (SPEC: 24 h). */
  eventRetryWindowMs: number
  /** How often human conversations past their handover timeout go back to the bot. */
  handoverSweepMs: number
  /** At most one write per provider in this interval of its health evidence (last verified webhook, last good send). */
  evidenceWriteMs: number
  /** Failed authentications from one address within a minute before its /api requests get 429. */
  authFailuresPerMinute: number
  /** How often messages past their channel's `retention_days` are erased (also once a minute after start, or sooner). */
  retentionSweepMs: number
  /** How often the job queue's dead rows are counted, and vacuumed when they pile up (PostgreSQL). */
  queueVacuumMs: number
}

const DEFAULT_TUNING: GatewayTuning = {
  pollIntervalMs: 250,
  leaseMs: 30_000,
  inDoubtWaitMs: 30_000,
  holdRecheckMs: 5_000,
  retryBackoff: undefined,
  inboundMaxAttempts: 8,
  routingTtlMs: 2_000,
  runWorker: true,
  stopTimeoutMs: 10_000,
  providerTimeoutMs: 15_000,
  typingRefreshMs: 20_000,
  eventConcurrency: 16,
  eventTimeoutMs: 10_000,
  eventRetryWindowMs: EVENT_RETRY_WINDOW_MS,
  handoverSweepMs: 30_000,
  authFailuresPerMinute: 20,
  evidenceWriteMs: 60_000,
  retentionSweepMs: 24 * 3_600_000,
  queueVacuumMs: 2_000,
}

export interface GatewayOptions {
  config: Config
  logger?: Logger
  clock?: Clock
  tuning?: Partial<GatewayTuning>
}

export interface Gateway {
  readonly config: Config
  readonly store: Store
  readonly app: App
  readonly metrics: Metrics
  readonly logger: Logger
  readonly queue: JobQueue
  /** The worker, or undefined when this process does not run one. */
  readonly runner: Runner | undefined
  /** The event deliveries' worker (its own queue and slots), or undefined when this process runs no worker. */
  readonly eventRunner: Runner | undefined
  /** Stored media: uploads, fetched inbound media, signed links. */
  readonly media: MediaLibrary
  /** A bootstrap admin token generated on this start (shown once), if one was. */
  readonly generatedAdminToken: string | undefined
  /** Starts listening (and the worker); resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>
  /** Graceful stop: refuse new requests, finish or release work in flight, close the database. */
  stop(): Promise<void>
}

/**
 * Clears this process's routing cache after every successful admin API change, so a disabled channel
 * or a new app secret applies at once here (other instances see it within the cache's TTL).
 */
function forgetRoutesOnChange(routing: RoutingCache): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (server) => {
    // onSend, not onResponse: the cache is cleared before the client can learn the change was made.
    server.addHook('onSend', async (request, reply, payload) => {
      if (request.method !== 'GET' && request.url.startsWith('/api/') && reply.statusCode < 400) routing.clear()
      return payload
    })
  }
  // Like fastify-plugin: the hook applies to the whole app, not just this plugin's scope.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true })
  return plugin
}

/** The `messageId` of a task payload (`{ messageId }`), if it has one. */
function messageIdOf(payload: unknown): { messageId: string } | undefined {
  const id = (payload as { messageId?: unknown } | null)?.messageId
  return typeof id === 'string' ? { messageId: id } : undefined
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options
  const tuning: GatewayTuning = { ...DEFAULT_TUNING, ...options.tuning }
  const logger = options.logger ?? createLogger(config.logLevel)
  const clock = options.clock ?? systemClock
  const metrics = createMetrics()

  const keys = config.secretKeys ?? [loadOrCreateKeyFile(config.dataDir).key]
  const secretBox = createSecretBox(keys)

  const store = createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize })
  await store.migrate()
  // The hot path answers before anything is served (on SQLite: its thread is up).
  await store.flow.ping()
  // Media links are signed with a key derived from the current secret key (the first one).
  const media = createMediaLibrary({
    config: config.media,
    db: store.db,
    signingKey: keys[0]!,
    clock,
    insertRow: (row) => store.flow.insertMedia({ ...row, createdAtIso: row.createdAt }),
  })
  const queue = createJobQueue(store, clock)
  const recovered = await queue.recoverOrphans()
  if (recovered > 0) logger.warn({ jobs: recovered }, 'queue:orphans:recovered')
  metrics.setQueueDepthSource(async () => ({ ...(await queue.depth()) }))

  // One pooled HTTP client for every provider and bot call (fetch is 11x slower: PERFORMANCE-NOTES.md).
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 128, pipelining: 1 })
  const providerDeps: ProviderDeps = {
    dispatcher,
    clock,
    timeoutMs: tuning.providerTimeoutMs,
    urls: {
      metaGraphUrl: config.metaGraphUrl,
      metaGraphVersion: config.metaGraphVersion,
      twilioApiUrl: config.twilioApiUrl,
      twilioContentUrl: config.twilioContentUrl,
      turnApiUrl: config.turnApiUrl,
    },
    // Twilio sends ask for status callbacks at PUBLIC_URL; without it they cannot.
    publicUrl: config.publicUrl,
  }

  const channels = createChannelsRepo({ store, clock })
  const providers = createProvidersRepo({ store, secretBox, clock })
  // Providers stored before `account_id` existed get it from their config, so template webhooks find them.
  const backfilled = await providers.backfillAccountIds((type, providerConfig) => {
    const account = isProviderType(type) ? providerKind(type).extraData(providerConfig).account_id : null
    return typeof account === 'string' ? account : null
  })
  if (backfilled > 0) logger.info({ providers: backfilled }, 'providers:account-id:backfilled')
  const bots = createBotsRepo({ store, secretBox, clock })
  const routing = new RoutingCache(createStoreRoutingSource({ channels, providers, bots, clock }), clock, tuning.routingTtlMs)
  // Evidence of working setups, from the webhook and send paths: in memory, written on the cold path.
  const evidence = createProviderEvidenceReporter((providerId, seen) => providers.recordEvidence(providerId, seen), clock, {
    intervalMs: tuning.evidenceWriteMs,
    onWriteFailed: (providerId, error) => logger.warn({ err: String(error), providerId }, 'provider:evidence:write-failed'),
  })

  // URLs a team gives (bots, language models): refused at connect time when they reach a private
  // address, unless the operator allows it (SPEC §13).
  const allowPrivateUrls = config.allowPrivateUrls ?? false
  const teamDispatcher = createOutboundAgent({ allowPrivate: allowPrivateUrls, connections: 128 })
  const botFor = createBotCache(routing, teamDispatcher, { clock, warn: (event, fields) => logger.warn(fields, event) })

  /** This process's own address, known once it listens (signed media URLs for bots without PUBLIC_URL). */
  let localBaseUrl = `http://127.0.0.1:${config.port}`
  let runner: Runner | undefined
  let eventRunner: Runner | undefined
  const wakeWorker = () => runner?.wake()
  const handOver = createHandOver(() => runner, store.flow.handsOverJobs)

  const tasks = createTasks({
    store,
    clock,
    logger,
    metrics,
    routing,
    botFor,
    providerDeps,
    onJobsEnqueued: wakeWorker,
    handOver,
    pacer: createPacer(clock),
    inDoubtWaitMs: tuning.inDoubtWaitMs,
    holdRecheckMs: tuning.holdRecheckMs,
    media,
    typingRefreshMs: tuning.typingRefreshMs,
    reportBotHealth: createBotHealthReporter((botId, status, message) => bots.recordHealth(botId, status, message), clock, (botId, error) =>
      logger.warn({ err: String(error), botId }, 'bot:health:write-failed'),
    ),
    reportSendOk: (providerId) => evidence.sendSucceeded(providerId),
    publicUrl: config.publicUrl,
    // Bots get media URLs they can fetch: PUBLIC_URL, else this process's own address once it listens.
    mediaBaseUrl: () => config.publicUrl ?? localBaseUrl,
  })
  if (tuning.retryBackoff) {
    for (const task of Object.values(tasks)) {
      const own = task.backoff ?? { baseMs: 1000, maxMs: 60_000 }
      const baseMs = tuning.retryBackoff.baseMs ?? own.baseMs
      // A base above the task's own ceiling raises the ceiling with it, so the override always applies.
      task.backoff = { baseMs, maxMs: tuning.retryBackoff.maxMs ?? Math.max(own.maxMs, baseMs) }
    }
  }
  if (tuning.runWorker) {
    runner = createRunner({
      store,
      tasks,
      concurrency: config.workerConcurrency,
      clock,
      logger,
      pollIntervalMs: tuning.pollIntervalMs,
      leaseMs: tuning.leaseMs,
    })
    runner.events.on('job:dead', ({ job, error }) => logger.warn({ jobId: job.id, task: job.task, err: error.message }, 'job:dead'))
    runner.events.on('runner:error', ({ error, during }) => logger.error({ err: error.message, during }, 'runner:error'))
  }

  const apiDeps: ApiDeps = { store, secretBox, clock, logger, publicUrl: config.publicUrl, providerDeps, teamDispatcher, allowPrivateUrls,
    authLimits: { maxFailures: tuning.authFailuresPerMinute, windowMs: 60_000 } }

  // Event deliveries: a pool of their own, so slow receivers never take the connections sends use.
  const eventDispatcher = createOutboundAgent({ allowPrivate: allowPrivateUrls, connections: 32 })
  const eventTask = createDeliverEventTask(
    { store, clock, logger, metrics },
    {
      webhookById: createEventWebhookCache((id) => findEventWebhookForDelivery(store.db, secretBox, id), clock, tuning.routingTtlMs),
      renderEventData: createEventDataRenderer(createApiContext(apiDeps), media, () => config.publicUrl ?? localBaseUrl),
      dispatcher: eventDispatcher,
      timeoutMs: tuning.eventTimeoutMs,
      retryWindowMs: tuning.eventRetryWindowMs,
    },
  )
  if (tuning.retryBackoff) {
    const baseMs = tuning.retryBackoff.baseMs ?? 1000
    eventTask.backoff = { baseMs, maxMs: tuning.retryBackoff.maxMs ?? Math.max(600_000, baseMs) }
  }
  if (tuning.runWorker) {
    eventRunner = createRunner({
      store,
      tasks: { [EVENT_DELIVERY_TASK]: eventTask },
      queue: EVENTS_QUEUE,
      concurrency: tuning.eventConcurrency,
      clock,
      logger,
      pollIntervalMs: tuning.pollIntervalMs,
      leaseMs: tuning.leaseMs,
    })
    eventRunner.events.on('job:dead', ({ job, error }) => logger.warn({ jobId: job.id, task: job.task, err: error.message }, 'event:delivery:dead'))
    eventRunner.events.on('runner:error', ({ error, during }) => logger.error({ err: error.message, during, queue: EVENTS_QUEUE }, 'runner:error'))
  }

  const reportSignatureFailure = createSignatureFailureReporter(routing, clock, (providerId, error) =>
    logger.warn({ err: String(error), providerId }, 'provider:health:write-failed'),
  )

  const generatedAdminToken = await bootstrapAdmin(apiDeps, config.adminToken)

  const inboundJob = { ...INBOUND_JOB, maxAttempts: tuning.inboundMaxAttempts }
  // Every provider's webhook endpoint gets the same wiring; only the metrics label names the provider.
  const webhookDeps = (providerType: string): WebhookDeps => ({
    clock,
    metrics,
    routing,
    ingest: (routed, nowMs) => {
      // Only what the store needs of each channel crosses to the SQLite flow thread.
      const routes = routed.map(({ channel, events }) => ({ channel: { id: channel.id, teamId: channel.teamId }, events }))
      markWindowClosures(routes, isProviderType(providerType) ? providerKind(providerType).capabilities : undefined)
      const messages = routes.reduce((sum, route) => sum + route.events.messages.length, 0)
      return handOver(messages, (handOverTo) => store.flow.ingest({ nowMs, routes, inboundJob, ...(handOverTo ? { handOver: handOverTo } : {}) }))
    },
    onJobsEnqueued: wakeWorker,
    reportSignatureFailure,
    reportWebhookVerified: (providerId) => evidence.webhookVerified(providerId),
    recordIngest: (_provider, result) => {
      if (result.stored > 0) metrics.messages.inc({ direction: 'in', status: 'received' }, result.stored)
      for (const status of result.appliedStatuses) metrics.messages.inc({ direction: 'out', status })
      if (result.statuses.unknown > 0) metrics.unknownStatuses.inc({ provider: providerType }, result.statuses.unknown)
    },
  })
  // Retention and DELETE /api/conversations/{id}: rows first, then the media's bytes (SPEC §13).
  const erasure = createErasure({
    db: store.db,
    media,
    clock,
    onBytesLeft: (keys) => logger.warn({ count: keys.length, keys: keys.slice(0, 20) }, 'erasure:media-bytes-left'),
  })
  const app = await buildApp({
    logger,
    metrics,
    isReady: () => store.isReady(),
    trustProxy: config.trustProxy ?? false,
    metricsToken: config.metricsToken,
    isStoreUnavailable: (error) => store.isUnavailable(error),
    modules: [
      forgetRoutesOnChange(routing),
      createApiModule(apiDeps, [
        createConversationRoutes({
          media,
          outboundJob: OUTBOUND_JOB,
          onJobsEnqueued: wakeWorker,
          erasure,
          conversationLanes: (conversationId) => [inboundLane(conversationId), outboundLane(conversationId)],
        }),
        createBroadcastRoutes({ dispatchJob: broadcastDispatchJob, onJobsEnqueued: wakeWorker }),
        createMediaRoutes(media),
        createTemplateRoutes(),
        createJobRoutes({
          queue,
          // The tasks' payloads name their message; the API learns that here, not from tasks/.
          subjectOf: (job) =>
            job.task === INBOUND_TASK || job.task === OUTBOUND_TASK || job.task === BROADCAST_SEND_TASK ? messageIdOf(job.payload) : undefined,
          inboundJob: ({ messageId, conversationId }) => ({
            task: INBOUND_TASK,
            payload: { messageId },
            lane: inboundLane(conversationId),
            maxAttempts: tuning.inboundMaxAttempts,
          }),
          outboundJob: ({ messageId, conversationId }) => ({
            task: OUTBOUND_TASK,
            payload: { messageId },
            lane: outboundLane(conversationId),
          }),
          onJobsEnqueued: wakeWorker,
        }),
      ]),
      // The API reference (/api/openapi.json, /api/docs): beside the admin API, so no token is asked.
      createApiDocsModule(),
      createConsoleModule(),
      createMediaLinkModule(media),
      createMetaWebhookModule(webhookDeps('meta_cloud_api'), { applyTemplateStatus: createTemplateStatusApplier(apiDeps) }),
      createTwilioWebhookModule(webhookDeps('twilio'), { publicUrl: config.publicUrl }),
      createTurnWebhookModule(webhookDeps('turnio')),
    ],
  })

  /**
   * Periodic upkeep, idempotent on any number of instances: conversations past their handover timeout
   * go back to the bot; delivery attempts older than 7 days are forgotten; messages past their channel's
   * retention are erased (daily, and a minute after start so a restart never puts it off a day); the
   * job queue's dead rows are vacuumed as they pile up (PostgreSQL; a debug line, it runs every few seconds
   * under load).
   */
  const sweeps: NodeJS.Timeout[] = []
  function startSweeps(): void {
    const sweep = (name: string, everyMs: number, work: () => Promise<number>, firstAfterMs?: number, level: 'info' | 'debug' = 'info') => {
      const run = () => {
        work()
          .then((count) => {
            if (count > 0) logger[level]({ count }, `sweep:${name}`)
          })
          .catch((error: unknown) => logger.warn({ err: String(error) }, `sweep:${name}:failed`))
      }
      const timer = setInterval(run, everyMs)
      timer.unref()
      sweeps.push(timer)
      if (firstAfterMs === undefined) return
      const first = setTimeout(run, firstAfterMs)
      first.unref()
      sweeps.push(first)
    }
    sweep('handover-expired', tuning.handoverSweepMs, () => expireHandovers(store.db, clock.now(), 500))
    sweep('deliveries-pruned', 3_600_000, () => pruneEventDeliveries(store.db, isoAt(clock.now() - 7 * 24 * 3_600_000)))
    sweep('retention', tuning.retentionSweepMs, async () => (await erasure.sweepRetention()).messages, Math.min(60_000, tuning.retentionSweepMs))
    sweep('queue-vacuumed', tuning.queueVacuumMs, () => store.flow.vacuumQueue(), undefined, 'debug')
  }

  let stopped: Promise<void> | undefined
  return {
    config,
    store,
    app,
    metrics,
    logger,
    queue,
    runner,
    eventRunner,
    media,
    generatedAdminToken,
    async listen() {
      await app.server.listen({ port: config.port, host: config.host })
      runner?.start()
      eventRunner?.start()
      if (tuning.runWorker) startSweeps()
      const address = app.server.server.address()
      if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP')
      const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address
      localBaseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
      return { host: address.address, port: address.port }
    },
    stop() {
      stopped ??= (async () => {
        app.beginShutdown()
        await app.server.close()
        for (const timer of sweeps) clearInterval(timer)
        await Promise.all([runner?.stop({ timeoutMs: tuning.stopTimeoutMs }), eventRunner?.stop({ timeoutMs: tuning.stopTimeoutMs })])
        await eventDispatcher.destroy()
        // Calls still open now belong to jobs the runner released at the stop timeout; `close()` would
        // wait for them up to the provider timeout (15 s), past the stop's bound. Cut them: a send cut
        // here is in doubt, which the next claim resolves by waiting for its status (SPEC §6).
        await dispatcher.destroy()
        await teamDispatcher.destroy()
        // The last minute's evidence, before the database closes.
        await evidence.flush()
        await store.close()
      })()
      return stopped
    },
  }
}
