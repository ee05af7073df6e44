/**
 * Builds the HTTP server: one error handler, request metrics, health endpoints, and the route modules
 * the composition root hands in (admin API, webhooks). Modules stay Fastify plugins, so their body
 * parsers and hooks stay encapsulated (the webhooks read raw bytes; the API parses JSON).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Socket } from 'node:net'
import {
  GW_ERR_API_HEADERS_TOO_LARGE,
  GW_ERR_API_METHOD_NOT_ALLOWED,
  GW_ERR_API_REQUEST_TIMEOUT,
  GW_ERR_API_MALFORMED,
  GW_ERR_API_NOT_FOUND,
  GW_ERR_API_UNAUTHENTICATED, GW_ERR_INTERNAL, GW_ERR_API_SHUTTING_DOWN, GW_ERR_STORE_UNAVAILABLE, isGatewayError, type GatewayError } from '../core/errors.js'
import { fastifyErrorToGatewayError } from './fastify-errors.js'

export interface AppOptions {
  logger: Logger
  metrics: Metrics
  /** Whether the database answers and migrations are applied (for `/readyz`). */
  isReady: () => Promise<boolean>
  /** Route modules, registered in order. */
  modules: FastifyPluginAsync[]
  /** Largest accepted body; Meta sends up to 3 MB. */
  bodyLimit?: number
  /** Whether an unexpected error means the database is unavailable (answered 503, so senders retry). */
  isStoreUnavailable?: (error: unknown) => boolean
  /** `SWITCHBOARD_METRICS_TOKEN`: when set, `/metrics` wants it as a bearer token. */
  metricsToken?: string | undefined
  /** Which proxies' X-Forwarded-* headers to trust (`SWITCHBOARD_TRUST_PROXY`): none by default. */
  trustProxy?: boolean | number | string[]
}

/** The body every error answers with (SPEC §4). */
export function errorBody(error: GatewayError): { error: { code: string; message: string; field?: string } } {
  return {
    error: { code: error.apiCode, message: error.message, ...(error.field !== undefined ? { field: error.field } : {}) },
  }
}

/**
 * What Node's HTTP parser refuses before any route sees the request (headers too large, a request that
 * took too long, bytes that are not HTTP), answered in our error shape rather than Fastify's.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const gatewayError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? GW_ERR_API_HEADERS_TOO_LARGE()
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? GW_ERR_API_REQUEST_TIMEOUT()
        : GW_ERR_API_MALFORMED('The request is not valid HTTP.')
  const body = JSON.stringify(errorBody(gatewayError))
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${gatewayError.httpStatus} ${gatewayError.httpStatus === 431 ? 'Request Header Fields Too Large' : gatewayError.httpStatus === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}

/** Whether an Authorization header carries exactly `token` as a bearer token (constant time). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1] ?? ''
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b) && given.length > 0
}

/** A route's path pattern (`/api/bots/:id`) as a regular expression over concrete paths. */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${escaped}$`)
}

export interface App {
  readonly server: FastifyInstance
  /** Every registered route, `METHOD /path/:param` (HEAD left out): for the API reference and tests that walk them all. */
  routes(): string[]
  /** Begins a graceful stop: new requests get 503, requests in flight finish. */
  beginShutdown(): void
}

export async function buildApp(options: AppOptions): Promise<App> {
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 3 * 1024 * 1024 + 64 * 1024,
    // Fastify takes each form; the union alone makes TypeScript pick the HTTP/2 overload.
    trustProxy: (options.trustProxy ?? false) as boolean,
    logController: new LogController({ disableRequestLogging: true }),
    // Our onRequest hook answers 503 in our error shape once a stop begins.
    return503OnClosing: false,
    // Long ids must reach our handlers (and get our 404), not Fastify's bare 414.
    routerOptions: { maxParamLength: 1000 },
    // A slow or trickled request must not hold a socket forever: the whole request within 2 minutes
    // (a 100 MB media upload on a slow link), the headers within 20 s (below), idle keep-alive 65 s
    // (longer than the usual load balancer's 60 s, so the balancer closes first).
    requestTimeout: 120_000,
    keepAliveTimeout: 65_000,
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, _request, reply) => {
      // Malformed URLs and headers: our error shape, never Fastify's.
      const body = errorBody(GW_ERR_API_MALFORMED(`The request could not be read: ${error.message}`))
      void (reply as unknown as { code(status: number): { send(payload: unknown): unknown } }).code(400).send(body)
    },
  })
  server.server.headersTimeout = 20_000
  let shuttingDown = false

  // Every route's methods by path pattern, so a known path asked with another method answers 405.
  const routes: Array<{ url: string; pattern: RegExp; methods: Set<string> }> = []
  server.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const existing = routes.find((known) => known.url === route.url)
    if (existing) for (const method of methods) existing.methods.add(method)
    else routes.push({ url: route.url, pattern: patternOf(route.url), methods: new Set(methods) })
  })

  server.addHook('onRequest', async (request, reply) => {
    if (shuttingDown && !request.url.startsWith('/healthz')) {
      reply.header('connection', 'close')
      return reply.code(503).send(errorBody(GW_ERR_API_SHUTTING_DOWN()))
    }
  })

  server.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    options.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) })
    options.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
    if (reply.statusCode >= 500) request.log.warn({ route, status: reply.statusCode }, 'http:request:failed')
  })

  server.setErrorHandler((error: FastifyError, request, reply) => {
    const gatewayError = isGatewayError(error) ? error : fastifyErrorToGatewayError(error)
    if (gatewayError) return reply.code(gatewayError.httpStatus).send(errorBody(gatewayError))
    if (options.isStoreUnavailable?.(error)) {
      // Nothing was committed; a provider retries a non-200 webhook, an API client can retry too.
      request.log.warn({ err: error.message, route: request.routeOptions.url }, 'store:unavailable')
      return reply.code(503).send(errorBody(GW_ERR_STORE_UNAVAILABLE()))
    }
    // Anything unexpected is logged with its stack, and the caller learns nothing of the inside.
    request.log.error({ err: error, route: request.routeOptions.url }, 'http:request:error')
    return reply.code(500).send(errorBody(GW_ERR_INTERNAL()))
  })

  server.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    const allowed = [...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => [...route.methods]))]
      .filter((method) => method !== 'HEAD')
      .sort()
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(errorBody(GW_ERR_API_METHOD_NOT_ALLOWED(`The path ${path} takes ${allowed.join(' or ')}, not ${request.method}; check the method.`)))
    }
    return reply
      .code(404)
      .send(errorBody(GW_ERR_API_NOT_FOUND(`Nothing is at ${request.method} ${request.url.split('?')[0]}; check the path.`)))
  })

  server.get('/healthz', async () => ({ status: 'ok' }))
  server.get('/readyz', async (_request, reply) => {
    const ready = await options.isReady()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready' })
  })
  server.get('/metrics', async (request, reply) => {
    if (options.metricsToken !== undefined && !bearerMatches(request.headers.authorization, options.metricsToken)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody(GW_ERR_API_UNAUTHENTICATED('/metrics needs "Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>"; send the token the gateway was started with.')))
    }
    return reply.header('content-type', options.metrics.registry.contentType).send(await options.metrics.registry.metrics())
  })

  for (const module of options.modules) await server.register(module)
  await server.ready()

  return {
    server,
    routes: () => routes.flatMap((route) => [...route.methods].filter((method) => method !== 'HEAD').map((method) => `${method} ${route.url}`)).sort(),
    beginShutdown() {
      shuttingDown = true
    },
  }
}
