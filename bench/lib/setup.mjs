/** Configures a running gateway through its admin API: a Meta provider, the echo bot, one channel per bench number. */
import { BENCH_WABA } from './numbers.mjs'

async function call(base, token, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

/** The Meta access token the bench's provider is configured with (the fake Graph API requires it for media). */
export const BENCH_ACCESS_TOKEN = 'EAAB-bench-access-token-0001'

/**
 * Returns the provider, bot and channel ids. Channels get `throughput_mps` so pacing is not what is
 * measured; `typingIndicator` true or false sets the channels' `typing_indicator` (a read receipt with a
 * typing indicator before each bot call), null leaves the provider's default (on for Meta).
 */
export async function configureGateway({ baseUrl, adminToken, appSecret, numbers, throughputMps = 1000, typingIndicator = null }) {
  const provider = await call(baseUrl, adminToken, 'POST', '/api/providers', {
    type: 'meta_cloud_api',
    name: 'Bench Meta',
    config: { business_id: BENCH_WABA, access_token: BENCH_ACCESS_TOKEN, app_secret: appSecret, verify_token: 'bench-verify-token' },
  })
  const bot = await call(baseUrl, adminToken, 'POST', '/api/bots', { name: 'Echo', type: 'echo' })
  const channels = []
  for (const number of numbers) {
    const channel = await call(baseUrl, adminToken, 'POST', '/api/channels', { bot_id: bot.id, provider_id: provider.id, number: number.display })
    if (channel.from_identifier !== number.pnid) throw new Error(`channel ${channel.id} routes ${channel.from_identifier}, expected ${number.pnid}`)
    await call(baseUrl, adminToken, 'PATCH', `/api/channels/${channel.id}`, {
      throughput_mps: throughputMps,
      ...(typingIndicator === null ? {} : { typing_indicator: typingIndicator }),
    })
    channels.push(channel.id)
  }
  return { providerId: provider.id, botId: bot.id, channels }
}
