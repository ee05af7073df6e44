/**
 * The composition root: config → store → secrets → providers → bots → queue → HTTP → worker. Every
 * concrete choice is named here and nowhere else; `main.ts` only runs it.
 */
import { Agent } from 'undici'
import { systemClock, type Clock } from './core/clock.js'
import { createSecretBox } from './core/secret-box.js'
import type { Config } from './config.js'
import { loadOrCreateKeyFile } from './key-file.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createStore, type Store } from './store/db.js'
import { buildApp, type App } from './http/app.js'
import { bootstrapAdmin, createApiModule } from './api/index.js'
import type { ApiDeps } from './api/api-deps.js'
import type { ProviderDeps } from './providers/provider.js'

export interface GatewayOptions {
  config: Config
  logger?: Logger
  clock?: Clock
}

export interface Gateway {
  readonly config: Config
  readonly store: Store
  readonly app: App
  readonly metrics: Metrics
  readonly logger: Logger
  /** A bootstrap admin token generated on this start (shown once), if one was. */
  readonly generatedAdminToken: string | undefined
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>
  /** Graceful stop: refuse new requests, finish work in flight, close the database. */
  stop(): Promise<void>
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options
  const logger = options.logger ?? createLogger(config.logLevel)
  const clock = options.clock ?? systemClock
  const metrics = createMetrics()

  const keys = config.secretKeys ?? [loadOrCreateKeyFile(config.dataDir).key]
  const secretBox = createSecretBox(keys)

  const store = createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize })
  await store.migrate()

  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 })
  const providerDeps: ProviderDeps = {
    dispatcher,
    clock,
    timeoutMs: 15_000,
    urls: {
      metaGraphUrl: config.metaGraphUrl,
      metaGraphVersion: config.metaGraphVersion,
      twilioApiUrl: config.twilioApiUrl,
      turnApiUrl: config.turnApiUrl,
    },
  }

  const apiDeps: ApiDeps = { store, secretBox, clock, logger, publicUrl: config.publicUrl, providerDeps }
  const generatedAdminToken = await bootstrapAdmin(apiDeps, config.adminToken)

  const app = await buildApp({
    logger,
    metrics,
    isReady: () => store.isReady(),
    modules: [createApiModule(apiDeps)],
  })

  return {
    config,
    store,
    app,
    metrics,
    logger,
    generatedAdminToken,
    async listen() {
      await app.server.listen({ port: config.port, host: config.host })
      const address = app.server.server.address()
      if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP')
      return { host: address.address, port: address.port }
    },
    async stop() {
      app.beginShutdown()
      await app.server.close()
      await store.close()
      await dispatcher.close()
    },
  }
}
