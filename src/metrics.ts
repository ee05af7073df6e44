/**
 * Every Prometheus metric the gateway exports, on one registry per process (not prom-client's global,
 * so tests can build several apps). Names follow Prometheus conventions: `_total`, `_seconds`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  readonly registry: Registry
  readonly httpRequests: Counter<'method' | 'route' | 'status'>
  readonly httpDuration: Histogram<'method' | 'route'>
  /** Webhooks by provider and outcome: accepted, duplicate, bad_signature, unrouted, malformed, too_large, ignored. */
  readonly webhooks: Counter<'provider' | 'outcome'>
  /** Messages entering a status, by direction. */
  readonly messages: Counter<'direction' | 'status'>
  /** Status updates naming a message the gateway does not know. */
  readonly unknownStatuses: Counter<'provider'>
  readonly queueDepth: Gauge<'state'>
  readonly sendDuration: Histogram<'provider' | 'outcome'>
  readonly botDuration: Histogram<'bot_type' | 'outcome'>
  /** Read receipts with a typing indicator, by outcome (`sent`, `error`): best effort, never retried. */
  readonly typingIndicators: Counter<'outcome'>
  /** Inbound media fetches by outcome (`stored`, `failed`, `retry`). */
  readonly mediaFetches: Counter<'outcome'>
  /** Event webhook delivery attempts by outcome (`delivered`, `failed`). */
  readonly eventDeliveries: Counter<'outcome'>
  /** Sets where the queue depth is read from at each scrape. */
  setQueueDepthSource(source: () => Promise<Record<string, number>>): void
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15]
  let depthSource: (() => Promise<Record<string, number>>) | undefined
  return {
    setQueueDepthSource(source) {
      depthSource = source
    },
    registry,
    httpRequests: new Counter({
      name: 'switchboard_http_requests_total',
      help: 'HTTP requests by method, route and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'switchboard_http_request_duration_seconds',
      help: 'HTTP request latency by method and route',
      labelNames: ['method', 'route'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'switchboard_webhooks_received_total',
      help: 'Webhook requests by provider and outcome',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    messages: new Counter({
      name: 'switchboard_messages_total',
      help: 'Messages entering a status, by direction (in/out) and status',
      labelNames: ['direction', 'status'],
      registers: [registry],
    }),
    unknownStatuses: new Counter({
      name: 'switchboard_status_updates_unknown_total',
      help: 'Status updates for messages the gateway does not know (ignored)',
      labelNames: ['provider'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'switchboard_queue_depth',
      help: 'Jobs in the work queue by state',
      labelNames: ['state'],
      registers: [registry],
      // Read at scrape time, so the gauge is never stale and costs nothing between scrapes.
      async collect() {
        if (!depthSource) return
        try {
          const depth = await depthSource()
          for (const [state, count] of Object.entries(depth)) this.set({ state }, count)
        } catch {
          // A scrape while the database is briefly away leaves the last values.
        }
      },
    }),
    sendDuration: new Histogram({
      name: 'switchboard_send_duration_seconds',
      help: 'Latency of provider send calls by provider and outcome',
      labelNames: ['provider', 'outcome'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    botDuration: new Histogram({
      name: 'switchboard_bot_duration_seconds',
      help: 'Latency of bot calls by bot type and outcome',
      labelNames: ['bot_type', 'outcome'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    typingIndicators: new Counter({
      name: 'switchboard_typing_indicators_total',
      help: 'Read receipts with a typing indicator sent when a bot starts, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    mediaFetches: new Counter({
      name: 'switchboard_media_fetches_total',
      help: 'Inbound media fetches from providers, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    eventDeliveries: new Counter({
      name: 'switchboard_event_deliveries_total',
      help: 'Event webhook delivery attempts, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  }
}
