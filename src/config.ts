/**
 * The only reader of `process.env`. Validates every variable once into a typed `Config`; a bad value
 * stops start-up with one line naming the variable (SPEC §2).
 */
import { z } from 'zod'

export interface Config {
  port: number
  host: string
  dataDir: string
  /** `postgres://…` selects PostgreSQL; undefined selects SQLite under `dataDir`. */
  databaseUrl: string | undefined
  /** Decoded 32-byte keys; the first encrypts. Undefined = use (or create) the key file in `dataDir`. */
  secretKeys: Buffer[] | undefined
  adminToken: string | undefined
  /** Public base URL without a trailing slash; undefined = derived from each request. */
  publicUrl: string | undefined
  /**
   * Which proxies' `X-Forwarded-*` headers to believe (`SWITCHBOARD_TRUST_PROXY`): false (none, the
   * default), true (any), a hop count, or addresses/CIDRs of the proxies. Fastify's `trustProxy` values.
   */
  trustProxy?: boolean | number | string[]
  /**
   * `SWITCHBOARD_ALLOW_PRIVATE_URLS`: whether a team's URLs (bots, language models, event webhooks) may
   * name loopback, private or link-local addresses. Off by default: several teams share a gateway.
   */
  allowPrivateUrls?: boolean
  /** `SWITCHBOARD_METRICS_TOKEN`: when set, `/metrics` answers only with this bearer token. */
  metricsToken?: string | undefined
  metaGraphUrl: string
  metaGraphVersion: string
  twilioApiUrl: string
  /** Twilio's Content API (templates and their WhatsApp approvals). */
  twilioContentUrl: string
  turnApiUrl: string
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** How many jobs one process works on at once. */
  workerConcurrency: number
  /** PostgreSQL connections per process. */
  databasePoolSize: number
  /** Timing overrides; each one left unset keeps the gateway's default (`GatewayTuning` in gateway.ts). */
  timings?: TimingOverrides
  /** Where media bytes live, and the largest accepted (SPEC §9.3). */
  media: MediaConfig
}

/** `SWITCHBOARD_MEDIA_STORE` and its S3 settings. */
export interface MediaConfig {
  /** Largest media accepted, inbound or uploaded (`SWITCHBOARD_MEDIA_MAX_BYTES`, default 100 MB). */
  maxBytes: number
  /** Files under `$DATA_DIR/media/`, or an S3-compatible bucket. */
  store:
    | { kind: 'file'; dir: string }
    | {
        kind: 's3'
        bucket: string
        /** Key prefix without leading or trailing slash ('' for none). */
        prefix: string
        /** `S3_ENDPOINT` (any S3-compatible server), or undefined for AWS. */
        endpoint: string | undefined
        region: string
        accessKeyId: string | undefined
        secretAccessKey: string | undefined
        forcePathStyle: boolean
      }
}

/**
 * Queue and delivery timings an operator may change, e.g. a shorter lease so a dead instance's work is
 * taken over sooner, and which the crash tests shorten so a real process can be killed and restarted
 * within seconds. Milliseconds.
 */
export interface TimingOverrides {
  leaseMs?: number
  pollIntervalMs?: number
  inDoubtWaitMs?: number
  retryBaseMs?: number
  retryMaxMs?: number
  stopTimeoutMs?: number
  providerTimeoutMs?: number
}

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

const url = (variable: string) =>
  z
    .string()
    .trim()
    .refine((value) => /^https?:\/\/[^/\s]+/.test(value), `${variable} must be an http(s) URL, e.g. https://example.org`)
    .transform((value) => value.replace(/\/+$/, ''))

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`)

function decodeKeys(raw: string): Buffer[] {
  const keys = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
  if (keys.length === 0) throw new ConfigError('SWITCHBOARD_SECRET_KEYS', 'is set but holds no key')
  return keys.map((key, index) => {
    const bytes = Buffer.from(key, 'base64')
    if (bytes.length !== 32 || bytes.toString('base64').replace(/=+$/, '') !== key.replace(/=+$/, '')) {
      throw new ConfigError(
        'SWITCHBOARD_SECRET_KEYS',
        `key ${index + 1} is not 32 bytes of base64; create one with: node -e "console.log(crypto.randomBytes(32).toString('base64'))"`,
      )
    }
    return bytes
  })
}

function read<T>(env: NodeJS.ProcessEnv, variable: string, schema: z.ZodType<T>, fallback: string): T {
  const raw = env[variable] === undefined || env[variable] === '' ? fallback : env[variable]!
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    throw new ConfigError(variable, `${parsed.error.issues[0]?.message ?? 'is invalid'} (got "${raw}")`)
  }
  return parsed.data
}

/** Reads and validates the configuration from the environment. Throws `ConfigError` on the first bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// (leave it unset to use the embedded SQLite)')
  }
  const secretKeys = env.SWITCHBOARD_SECRET_KEYS?.trim() ? decodeKeys(env.SWITCHBOARD_SECRET_KEYS) : undefined
  if (databaseUrl !== undefined && secretKeys === undefined) {
    throw new ConfigError(
      'SWITCHBOARD_SECRET_KEYS',
      'is required with PostgreSQL, so every instance encrypts with the same key; set one or more comma-separated base64 32-byte keys',
    )
  }
  const adminToken = env.SWITCHBOARD_ADMIN_TOKEN?.trim() || undefined
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('SWITCHBOARD_ADMIN_TOKEN', 'must be at least 16 characters long')
  }
  const publicUrlRaw = env.PUBLIC_URL?.trim()
  const databasePoolSize = read(env, 'SWITCHBOARD_DB_POOL_SIZE', integer(1, 200), '20')
  return {
    port: read(env, 'PORT', integer(0, 65535), '8080'),
    host: read(env, 'HOST', z.string().trim().min(1, 'must not be empty'), '0.0.0.0'),
    dataDir: read(env, 'DATA_DIR', z.string().trim().min(1, 'must not be empty'), './data'),
    databaseUrl,
    secretKeys,
    adminToken,
    publicUrl: publicUrlRaw ? read(env, 'PUBLIC_URL', url('PUBLIC_URL'), '') : undefined,
    trustProxy: readTrustProxy(env.SWITCHBOARD_TRUST_PROXY),
    allowPrivateUrls: readBoolean(env, 'SWITCHBOARD_ALLOW_PRIVATE_URLS'),
    metricsToken: readMetricsToken(env.SWITCHBOARD_METRICS_TOKEN),
    metaGraphUrl: read(env, 'META_GRAPH_URL', url('META_GRAPH_URL'), 'https://graph.facebook.com'),
    metaGraphVersion: read(
      env,
      'META_GRAPH_VERSION',
      z.string().trim().regex(/^v\d+\.\d+$/, 'must look like v25.0'),
      'v25.0',
    ),
    twilioApiUrl: read(env, 'TWILIO_API_URL', url('TWILIO_API_URL'), 'https://api.twilio.com'),
    twilioContentUrl: read(env, 'TWILIO_CONTENT_URL', url('TWILIO_CONTENT_URL'), 'https://content.twilio.com'),
    turnApiUrl: read(env, 'TURN_API_URL', url('TURN_API_URL'), 'https://whatsapp.turn.io'),
    logLevel: read(
      env,
      'LOG_LEVEL',
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        message: 'must be one of fatal, error, warn, info, debug, trace, silent',
      }),
      'info',
    ),
    // SQLite's operations are batched by one thread, so many jobs in flight make bigger, cheaper batches
    // (the end-to-end rate peaked at 256, BENCHMARKS.md); on PostgreSQL each operation takes one of the
    // pool's connections, and jobs far beyond the pool only queue for them, webhooks' ingest behind them.
    // There, 64 jobs on 20 connections made 274-344 msg/s end to end against 192-203 for 32 on 10 (more
    // commits share each WAL flush: 0.8 flushes a message against 1.3), and 128 on 30 no more
    // (BENCHMARKS.md). So the default is 4 jobs a connection, at most 64: a smaller pool gets fewer jobs
    // (64 jobs on 8 connections delayed status webhooks past the in-doubt wait in the scale-out test).
    workerConcurrency: read(
      env,
      'SWITCHBOARD_WORKER_CONCURRENCY',
      integer(1, 1000),
      databaseUrl === undefined ? '256' : String(Math.min(64, 4 * databasePoolSize)),
    ),
    databasePoolSize,
    timings: readTimings(env),
    media: readMedia(env, read(env, 'DATA_DIR', z.string().trim().min(1, 'must not be empty'), './data')),
  }
}

/** `SWITCHBOARD_MEDIA_MAX_BYTES`, `SWITCHBOARD_MEDIA_STORE` and, for `s3://`, the S3 variables. */
function readMedia(env: NodeJS.ProcessEnv, dataDir: string): MediaConfig {
  const maxBytes = read(env, 'SWITCHBOARD_MEDIA_MAX_BYTES', integer(1024, 2 ** 40), String(100 * 1024 * 1024))
  const location = env.SWITCHBOARD_MEDIA_STORE?.trim() ?? ''
  if (location === '') return { maxBytes, store: { kind: 'file', dir: `${dataDir.replace(/\/+$/, '')}/media` } }
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location)
  if (match === null) {
    throw new ConfigError('SWITCHBOARD_MEDIA_STORE', `must be unset (files under DATA_DIR/media) or s3://bucket/prefix (got "${location}")`)
  }
  const endpointRaw = env.S3_ENDPOINT?.trim()
  const forcePathStyle = (env.S3_FORCE_PATH_STYLE?.trim() ?? '').toLowerCase()
  if (!['', 'true', 'false', '1', '0'].includes(forcePathStyle)) {
    throw new ConfigError('S3_FORCE_PATH_STYLE', `must be true or false (got "${env.S3_FORCE_PATH_STYLE}")`)
  }
  return {
    maxBytes,
    store: {
      kind: 's3',
      bucket: match[1]!,
      prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, ''),
      endpoint: endpointRaw ? read(env, 'S3_ENDPOINT', url('S3_ENDPOINT'), '') : undefined,
      region: env.AWS_REGION?.trim() || 'us-east-1',
      accessKeyId: env.AWS_ACCESS_KEY_ID?.trim() || undefined,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY?.trim() || undefined,
      forcePathStyle: forcePathStyle === 'true' || forcePathStyle === '1',
    },
  }
}

/** The optional timing variables; only those set appear in the result. */
function readMetricsToken(raw: string | undefined): string | undefined {
  const value = raw?.trim() ?? ''
  if (value === '') return undefined
  if (value.length < 16) throw new ConfigError('SWITCHBOARD_METRICS_TOKEN', 'must be at least 16 characters long (e.g. openssl rand -hex 24)')
  return value
}

/** A true/false variable: unset, `false` or `0` is false; `true` or `1` is true; anything else stops start-up. */
function readBoolean(env: NodeJS.ProcessEnv, variable: string): boolean {
  const value = (env[variable]?.trim() ?? '').toLowerCase()
  if (value === '' || value === 'false' || value === '0') return false
  if (value === 'true' || value === '1') return true
  throw new ConfigError(variable, `must be true or false (got "${env[variable]}")`)
}

/** `SWITCHBOARD_TRUST_PROXY`: `false`/unset, `true`, a hop count (`1`), or comma-separated proxy addresses or CIDRs. */
function readTrustProxy(raw: string | undefined): boolean | number | string[] {
  const value = raw?.trim() ?? ''
  if (value === '' || value.toLowerCase() === 'false') return false
  if (value.toLowerCase() === 'true') return true
  if (/^\d{1,2}$/.test(value)) return Number(value)
  const entries = value.split(',').map((entry) => entry.trim())
  const address = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+)(\/\d{1,3})?$/i
  const bad = entries.find((entry) => !address.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry))
  if (bad !== undefined) {
    throw new ConfigError(
      'SWITCHBOARD_TRUST_PROXY',
      `must be true, false, a number of proxy hops, or comma-separated proxy addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8); "${bad}" is none of these`,
    )
  }
  return entries
}

function readTimings(env: NodeJS.ProcessEnv): TimingOverrides {
  const optional = (variable: string, min: number, max: number): number | undefined =>
    env[variable] === undefined || env[variable]!.trim() === '' ? undefined : read(env, variable, integer(min, max), '')
  const hour = 3_600_000
  const timings: TimingOverrides = {}
  const set = (key: keyof TimingOverrides, value: number | undefined) => {
    if (value !== undefined) timings[key] = value
  }
  // A lease must outlive a few heartbeats (renewed every third of it) even on a slow database.
  set('leaseMs', optional('SWITCHBOARD_LEASE_MS', 500, hour))
  set('pollIntervalMs', optional('SWITCHBOARD_POLL_INTERVAL_MS', 5, 60_000))
  // 0 is allowed: no wait, an in-doubt send goes again at once (duplicates become likely after a crash).
  set('inDoubtWaitMs', optional('SWITCHBOARD_IN_DOUBT_WAIT_MS', 0, 24 * hour))
  set('retryBaseMs', optional('SWITCHBOARD_RETRY_BASE_MS', 1, hour))
  set('retryMaxMs', optional('SWITCHBOARD_RETRY_MAX_MS', 1, 24 * hour))
  set('stopTimeoutMs', optional('SWITCHBOARD_STOP_TIMEOUT_MS', 0, 10 * 60_000))
  set('providerTimeoutMs', optional('SWITCHBOARD_PROVIDER_TIMEOUT_MS', 100, 10 * 60_000))
  if (timings.retryBaseMs !== undefined && timings.retryMaxMs !== undefined && timings.retryMaxMs < timings.retryBaseMs) {
    throw new ConfigError('SWITCHBOARD_RETRY_MAX_MS', `must be at least SWITCHBOARD_RETRY_BASE_MS (${timings.retryBaseMs})`)
  }
  return timings
}
