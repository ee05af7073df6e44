/**
 * The sandbox: the real gateway on its own SQLite folder, with a stand-in for Meta on loopback, and a
 * Meta provider, a demo bot that answers with every kind of message (demo-bot.ts, an http bot on
 * loopback), an echo bot and a channel set up through the admin API, so a person can chat with a bot in
 * the console without a Meta account or the internet. The stand-in has a few templates (approved,
 * pending, rejected, paused: stand-in-templates.ts); the channel sends a text to a closed window as the
 * approved one-parameter template; and the gateway and the stand-in share a clock a person moves
 * forward (sandbox-clock.ts) to see the 24-hour window close. `main.ts` runs it from the command line; the
 * browser tests start it in-process. Given a language model's address (`llm`, e.g. a local Ollama), an
 * llm bot named "Local model" answers the sandbox channel instead, so a person chats with the model
 * through the whole WhatsApp path.
 *
 * Nothing is faked inside the gateway: messages arrive as signed webhooks on the public endpoint, go
 * through the inbox, the queue and the bot, and leave through the Meta provider's HTTP client.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import type { Clock } from '../core/clock.js'
import { loadConfig, type Config } from '../config.js'
import { createGateway, type Gateway, type GatewayTuning } from '../gateway.js'
import type { Logger } from '../logger.js'
import { demoPng, startDemoBot, type DemoBot } from './demo-bot.js'
import { MetaStandIn, type StandInNumber } from './meta-stand-in.js'
import { SandboxClock } from './sandbox-clock.js'
import { createSandboxPhone } from './sandbox-phone.js'
import { SANDBOX_FALLBACK_TEMPLATE, SANDBOX_TEMPLATES } from './stand-in-templates.js'

/** The sandbox's WhatsApp Business Account: +1 555-01xx numbers are reserved as fictional. */
export const SANDBOX_BUSINESS_ID = '105550100000000'
export const SANDBOX_NUMBERS: readonly StandInNumber[] = [
  { id: '105550100000001', display_phone_number: '+1 555-010-0001', verified_name: 'Switchboard Sandbox' },
  { id: '105550100000002', display_phone_number: '+1 555-010-0002', verified_name: 'Sandbox Two' },
  { id: '105550100000003', display_phone_number: '+1 555-010-0003', verified_name: 'Sandbox Three' },
]
/** The WhatsApp user the Sandbox chat page writes as. */
export const SANDBOX_USER = { phone: '+15550200001', name: 'Sandbox User' }
const PROVIDER_NAME = 'Sandbox Meta'
const BOT_NAME = 'Echo'
const DEMO_BOT_NAME = 'Demo (every message type)'
const CHANNEL_NAME = 'Sandbox'
const LLM_BOT_NAME = 'Local model'
/** What the sandbox's model is told: WhatsApp shows no Markdown tables or headings, and users read on phones. */
export const SANDBOX_SYSTEM_PROMPT =
  'You are a friendly assistant chatting with someone on WhatsApp. Answer briefly, in plain text (no Markdown tables or headings), in the language they write in.'
const META_WEBHOOK_PATH = '/channels/whatsapp/meta/incoming_message'

export interface SandboxOptions {
  /** Folder of the sandbox's database, key file and secrets (default `./data/sandbox`). */
  dataDir: string
  /** Gateway port; 0 picks a free one. */
  port: number
  /** When `port` is taken, use a free port instead of failing. */
  fallbackToFreePort?: boolean
  logLevel?: Config['logLevel']
  logger?: Logger
  /** The time the sandbox's clock starts from (default the system clock); a person moves it forward. */
  clock?: Clock
  tuning?: Partial<GatewayTuning>
  /** Pause before each status webhook (default 600 ms, so the ticks can be watched). */
  statusDelayMs?: number
  /** A language model to answer the sandbox channel (an llm bot); absent: the channel's bot is kept. */
  llm?: SandboxLlm
}

/** The model `npm run sandbox -- --llm-url … --llm-model …` puts on the sandbox channel. */
export interface SandboxLlm {
  /** An OpenAI-compatible API, `/v1` included: `http://localhost:11434/v1` for Ollama. */
  baseUrl: string
  model: string
  apiKey?: string
}

export interface Sandbox {
  /** The one address to open: the console's Sandbox chat, signed in through the URL fragment. */
  consoleUrl: string
  gatewayUrl: string
  /** The Meta stand-in (also serves the Sandbox chat page's `/sandbox/*` endpoints). */
  standInUrl: string
  adminToken: string
  providerId: string
  /** The bot a new sandbox channel answers with: the demo bot. */
  botId: string
  demoBotId: string
  echoBotId: string
  /** The "Local model" llm bot, when the sandbox was started with a model (or had one from before). */
  llmBotId: string | null
  /** The bot the sandbox channel answers with now. */
  answeringBot: { id: string; name: string; type: string }
  channelId: string
  gateway: Gateway
  standIn: MetaStandIn
  demoBot: DemoBot
  /** The clock the gateway and the stand-in share; `advance` it to see the 24-hour window close. */
  clock: SandboxClock
  stop(): Promise<void>
}

/** Secrets of one sandbox folder, kept across restarts so the stored provider keeps working. */
interface SandboxSecrets {
  adminToken: string
  accessToken: string
  appSecret: string
  verifyToken: string
  /** Signs the gateway's requests to the demo bot (absent in folders made before the demo bot). */
  demoBotSecret: string
}

function loadOrCreateSecrets(dataDir: string): SandboxSecrets {
  const path = join(dataDir, 'sandbox-secrets.json')
  const random = () => randomBytes(24).toString('base64url')
  const stored = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Partial<SandboxSecrets>) : null
  if (stored?.adminToken && stored.accessToken && stored.appSecret && stored.verifyToken && stored.demoBotSecret) return stored as SandboxSecrets
  const secrets: SandboxSecrets = {
    adminToken: stored?.adminToken ?? `sb_sandbox_${random()}`,
    accessToken: stored?.accessToken ?? `EAAB-sandbox-${random()}`,
    appSecret: stored?.appSecret ?? randomBytes(16).toString('hex'),
    verifyToken: stored?.verifyToken ?? `sandbox-verify-${random()}`,
    demoBotSecret: stored?.demoBotSecret ?? `demo-bot-${random()}`,
  }
  // Owner-only: the admin token opens the whole sandbox gateway.
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 })
  return secrets
}

/** A tiny admin API client for the setup (over HTTP, like any other client). */
function adminClient(baseUrl: string, token: string) {
  return async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<any> => {
    const response = await request(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.body.text()
    if (response.statusCode >= 300) throw new Error(`sandbox setup: ${method} ${path} answered ${response.statusCode}: ${text}`)
    return text === '' ? null : JSON.parse(text)
  }
}

async function startGateway(config: Config, options: SandboxOptions, clock: Clock): Promise<{ gateway: Gateway; port: number }> {
  const gateway = await createGateway({
    config,
    ...(options.logger ? { logger: options.logger } : {}),
    clock,
    ...(options.tuning ? { tuning: options.tuning } : {}),
  })
  try {
    return { gateway, port: (await gateway.listen()).port }
  } catch (error) {
    await gateway.stop()
    throw error
  }
}

/** Starts the sandbox; resolves once everything is set up and the console URL works. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  mkdirSync(options.dataDir, { recursive: true })
  const secrets = loadOrCreateSecrets(options.dataDir)
  const clock = new SandboxClock({ ...(options.clock ? { base: options.clock } : {}), dataDir: options.dataDir })
  const sandboxNumber = SANDBOX_NUMBERS[0]!

  const demoBot = await startDemoBot({ secret: secrets.demoBotSecret })
  let standIn: MetaStandIn | undefined
  let origins: string[] = []
  try {
    standIn = await MetaStandIn.start({
      businessId: SANDBOX_BUSINESS_ID,
      numbers: [...SANDBOX_NUMBERS],
      accessToken: secrets.accessToken,
      clock,
      templates: SANDBOX_TEMPLATES,
      statusDelayMs: options.statusDelayMs ?? 600,
      extraRoutes: createSandboxPhone({
        standIn: () => standIn!,
        adminToken: secrets.adminToken,
        allowedOrigins: () => origins,
        number: sandboxNumber,
        user: SANDBOX_USER,
        clock,
      }),
    })
  } catch (error) {
    await demoBot.close()
    throw error
  }

  // An env object, not the process environment: the sandbox is always SQLite in its own folder, on
  // loopback, talking to the stand-in instead of graph.facebook.com.
  const env = (port: number) => ({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: options.dataDir,
    META_GRAPH_URL: standIn!.baseUrl,
    SWITCHBOARD_ADMIN_TOKEN: secrets.adminToken,
    LOG_LEVEL: options.logLevel ?? 'warn',
    // The demo bot, a local model and your own bots run on this machine.
    SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true',
  })
  let started: { gateway: Gateway; port: number }
  try {
    try {
      started = await startGateway(loadConfig(env(options.port)), options, clock)
    } catch (error) {
      if (!(options.fallbackToFreePort && (error as { code?: string }).code === 'EADDRINUSE')) throw error
      started = await startGateway(loadConfig(env(0)), options, clock)
    }
  } catch (error) {
    await standIn.close()
    await demoBot.close()
    throw error
  }
  const { gateway, port } = started
  const gatewayUrl = `http://127.0.0.1:${port}`
  origins = [gatewayUrl, `http://localhost:${port}`]
  standIn.connect({ url: `${gatewayUrl}${META_WEBHOOK_PATH}`, appSecret: secrets.appSecret })

  const stop = async () => {
    await standIn!.close()
    await gateway.stop()
    await demoBot.close()
  }
  try {
    const ids = await setUp(adminClient(gatewayUrl, secrets.adminToken), secrets, sandboxNumber, demoBot, options.llm)
    // The demo bot's picture goes by media id when the gateway takes the upload, else by its own URL.
    const media = await uploadMedia(gatewayUrl, secrets.adminToken, demoPng(), 'image/png').catch(() => null)
    if (media !== null) demoBot.setPhoto({ media_id: media.id })
    const fragment = `token=${encodeURIComponent(secrets.adminToken)}&sandbox=${encodeURIComponent(standIn.baseUrl)}`
    return {
      consoleUrl: `${gatewayUrl}/console/sandbox#${fragment}`,
      gatewayUrl,
      standInUrl: standIn.baseUrl,
      adminToken: secrets.adminToken,
      ...ids,
      gateway,
      standIn,
      demoBot,
      clock,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Stores bytes through `POST /api/media` (the raw bytes with their type). */
async function uploadMedia(baseUrl: string, token: string, bytes: Buffer, mimeType: string): Promise<{ id: string }> {
  const response = await request(`${baseUrl}/api/media`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': mimeType }, body: bytes })
  const text = await response.body.text()
  if (response.statusCode !== 201) throw new Error(`sandbox setup: POST /api/media answered ${response.statusCode}: ${text}`)
  return JSON.parse(text) as { id: string }
}

/** The llm bot's config for a model given on the command line (the API's defaults for the rest). */
function llmBotConfig(llm: SandboxLlm): Record<string, unknown> {
  return { base_url: llm.baseUrl, model: llm.model, system_prompt: SANDBOX_SYSTEM_PROMPT, ...(llm.apiKey ? { api_key: llm.apiKey } : {}) }
}

/**
 * Creates the provider, bots and channel, or finds them from an earlier start. The provider's secrets
 * and the demo bot's address (a new port each start) are set again (someone may have changed them in
 * the console to see a health warning); the channel's bot is left as it is (someone may have pointed it
 * at their own bot), except that a model given now answers it, and a start without one moves the channel
 * off the sandbox's "Local model" back to the demo bot (that model may not be running any more).
 */
async function setUp(
  call: ReturnType<typeof adminClient>,
  secrets: SandboxSecrets,
  number: StandInNumber,
  demoBot: DemoBot,
  llm: SandboxLlm | undefined,
): Promise<{
  providerId: string
  botId: string
  demoBotId: string
  echoBotId: string
  llmBotId: string | null
  answeringBot: { id: string; name: string; type: string }
  channelId: string
}> {
  const config = {
    business_id: SANDBOX_BUSINESS_ID,
    access_token: secrets.accessToken,
    app_secret: secrets.appSecret,
    verify_token: secrets.verifyToken,
  }
  const providers = (await call('GET', '/api/providers?limit=200')).data as Array<{ id: string; name: string; type: string }>
  let provider = providers.find((p) => p.name === PROVIDER_NAME && p.type === 'meta_cloud_api')
  if (provider) {
    await call('PATCH', `/api/providers/${provider.id}`, { config })
    // A new provider lists its templates on creation; a stored one catches up with the stand-in's.
    await call('POST', `/api/providers/${provider.id}/templates/sync`)
  } else provider = await call('POST', '/api/providers', { type: 'meta_cloud_api', name: PROVIDER_NAME, config })

  const bots = (await call('GET', '/api/bots?limit=200')).data as Array<{ id: string; name: string; type: string }>
  const echo = bots.find((b) => b.name === BOT_NAME && b.type === 'echo') ?? (await call('POST', '/api/bots', { name: BOT_NAME, type: 'echo' }))
  const demoConfig = { url: demoBot.url, secret: secrets.demoBotSecret }
  let demo = bots.find((b) => b.name === DEMO_BOT_NAME && b.type === 'http')
  if (demo) await call('PATCH', `/api/bots/${demo.id}`, { config: demoConfig })
  else demo = await call('POST', '/api/bots', { name: DEMO_BOT_NAME, type: 'http', config: demoConfig })

  let llmBot = bots.find((b) => b.name === LLM_BOT_NAME && b.type === 'llm')
  if (llm !== undefined) {
    // A stored key the command line no longer gives is dropped: the model answers as started now.
    const config = { ...llmBotConfig(llm), ...(llm.apiKey || llmBot === undefined ? {} : { api_key: null }) }
    if (llmBot) await call('PATCH', `/api/bots/${llmBot.id}`, { config })
    else llmBot = await call('POST', '/api/bots', { name: LLM_BOT_NAME, type: 'llm', config })
  }

  const e164 = `+${number.display_phone_number.replace(/\D/g, '')}`
  const channels = (await call('GET', '/api/channels?limit=200')).data as Array<{ id: string; number: string; bot_id: string }>
  let channel = channels.find((c) => c.number === e164)
  if (channel === undefined) {
    channel = (await call('POST', '/api/channels', { bot_id: demo!.id, provider_id: provider!.id, number: number.display_phone_number, name: CHANNEL_NAME })) as {
      id: string
      number: string
      bot_id: string
    }
    // A text to a closed window goes out as the approved one-parameter template (set once: a person
    // may clear it in the console to see such a text refused instead).
    await call('PATCH', `/api/channels/${channel.id}`, { out_of_window_template: SANDBOX_FALLBACK_TEMPLATE })
  }
  const answeringId = llm !== undefined ? llmBot!.id : channel.bot_id === llmBot?.id ? demo!.id : channel.bot_id
  if (answeringId !== channel.bot_id) await call('PATCH', `/api/channels/${channel.id}`, { bot_id: answeringId })
  const answering = (await call('GET', `/api/bots/${answeringId}`)) as { id: string; name: string; type: string }
  return {
    providerId: provider!.id,
    botId: demo!.id,
    demoBotId: demo!.id,
    echoBotId: echo.id,
    llmBotId: llmBot?.id ?? null,
    answeringBot: { id: answering.id, name: answering.name, type: answering.type },
    channelId: channel.id,
  }
}
