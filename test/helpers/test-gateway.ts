/**
 * A whole gateway on a fresh test database, listening on 127.0.0.1 on a free port, for tests that go
 * over real HTTP (admin API, webhooks, end to end). Every test that needs the gateway starts one:
 *
 *   const gw = await startTestGateway({ dialect, env: { metaGraphUrl: graph.baseUrl } })
 *   try {
 *     const res = await gw.request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } })
 *     assert.equal(res.status, 201)
 *   } finally {
 *     await gw.close()
 *   }
 *
 * `request` sends the bootstrap admin token unless told otherwise (`token: null` sends none). To restart
 * on the same database, pass `database` and the first gateway's `config.secretKeys`, and close the
 * first one with `close({ keepDatabase: true })`.
 */
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { request as undiciRequest } from 'undici'
import type { Clock } from '../../src/core/clock.js'
import type { Config } from '../../src/config.js'
import { createGateway, type Gateway, type GatewayTuning } from '../../src/gateway.js'
import { createLogger, type Logger } from '../../src/logger.js'
import { createTestDatabase, type DialectName, type TestDatabase } from './dialects.js'

/** Options of `startTestGateway`. */
export interface TestGatewayOptions {
  dialect: DialectName
  /**
   * Config overrides, e.g. `{ metaGraphUrl: graph.baseUrl, publicUrl: 'https://sb.example' }`.
   * `{ adminToken: undefined }` starts without a configured token (bootstrap then generates one).
   */
  env?: Partial<Config>
  /** Defaults to a silent logger; pass `captureLogger()`'s logger to read the log lines. */
  logger?: Logger
  clock?: Clock
  /** Shorter timings for retry, hold and in-doubt tests (see GatewayTuning). */
  tuning?: Partial<GatewayTuning>
  /** Reuse this database (restart tests); it is then not dropped by `close()` unless asked. */
  database?: TestDatabase
}

/** What a request helper call returns. */
export interface TestResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The raw body text. */
  text: string
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: any
}

/** Options of `TestGateway.request`. */
export interface TestRequestOptions {
  /** Bearer token; defaults to the admin token. `null` sends no Authorization header. */
  token?: string | null
  /** Sent as JSON with `content-type: application/json`. */
  body?: unknown
  /** Sent as is (default content type `application/json` unless `headers` says otherwise). */
  rawBody?: string | Buffer
  headers?: Record<string, string>
}

/** A running test gateway and its helpers. */
export interface TestGateway {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string
  /** The admin token of team `default` (the configured one, or the generated one when none was configured). */
  adminToken: string
  gateway: Gateway
  config: Config
  database: TestDatabase
  /** Calls the gateway over real HTTP. */
  request(method: string, path: string, options?: TestRequestOptions): Promise<TestResponse>
  /** Stops the gateway and drops the database (unless it was passed in, or `keepDatabase`). */
  close(options?: { keepDatabase?: boolean }): Promise<void>
}

/** A config for tests: the same shape `loadConfig` returns, with test defaults. */
export function testConfig(database: TestDatabase, overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    dataDir: database.dataDir,
    databaseUrl: database.databaseUrl,
    secretKeys: [randomBytes(32)],
    adminToken: `sb_test_${randomBytes(24).toString('base64url')}`,
    publicUrl: undefined,
    // Every fake bot, model and receiver runs on 127.0.0.1; test/api/url-guard.test.ts turns this off.
    allowPrivateUrls: true,
    metaGraphUrl: 'http://127.0.0.1:9',
    metaGraphVersion: 'v25.0',
    twilioApiUrl: 'http://127.0.0.1:9',
    twilioContentUrl: 'http://127.0.0.1:9',
    turnApiUrl: 'http://127.0.0.1:9',
    logLevel: 'silent',
    workerConcurrency: 4,
    databasePoolSize: 5,
    media: { maxBytes: 100 * 1024 * 1024, store: { kind: 'file', dir: `${database.dataDir}/media` } },
    ...overrides,
  }
}

/** Starts a gateway on a fresh (or the given) database. */
export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const ownsDatabase = options.database === undefined
  const database = options.database ?? (await createTestDatabase(options.dialect))
  let gateway: Gateway
  let config: Config
  try {
    config = testConfig(database, options.env)
    gateway = await createGateway({
      config,
      logger: options.logger ?? createLogger('silent'),
      ...(options.clock ? { clock: options.clock } : {}),
      // Suites send many bad tokens on purpose; test/api/auth-limit.test.ts checks the real limit.
      tuning: { authFailuresPerMinute: 100_000, ...options.tuning },
    })
  } catch (error) {
    if (ownsDatabase) await database.drop()
    throw error
  }
  const { port } = await gateway.listen()
  const baseUrl = `http://127.0.0.1:${port}`
  const adminToken = config.adminToken ?? gateway.generatedAdminToken ?? ''

  return {
    baseUrl,
    adminToken,
    gateway,
    config,
    database,
    async request(method, path, requestOptions = {}) {
      const headers: Record<string, string> = {}
      const token = requestOptions.token === undefined ? adminToken : requestOptions.token
      if (token !== null && token !== '') headers.authorization = `Bearer ${token}`
      let body: string | Buffer | undefined
      if (requestOptions.rawBody !== undefined) {
        body = requestOptions.rawBody
        headers['content-type'] = 'application/json'
      } else if (requestOptions.body !== undefined) {
        body = JSON.stringify(requestOptions.body)
        headers['content-type'] = 'application/json'
      }
      Object.assign(headers, requestOptions.headers)
      const response = await undiciRequest(`${baseUrl}${path}`, { method: method as 'GET', headers, body })
      const text = await response.body.text()
      let parsed: unknown
      try {
        parsed = text === '' ? undefined : JSON.parse(text)
      } catch {
        parsed = undefined
      }
      return { status: response.statusCode, headers: response.headers, text, body: parsed }
    },
    async close(closeOptions = {}) {
      await gateway.stop()
      if (ownsDatabase && !closeOptions.keepDatabase) await database.drop()
    },
  }
}

/** A logger writing JSON lines into memory, for tests that read the logs (e.g. to grep for secrets). */
export function captureLogger(level = 'trace'): { logger: Logger; lines: string[]; text(): string } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'))
      callback()
    },
  })
  return { logger: createLogger(level, destination), lines, text: () => lines.join('') }
}
