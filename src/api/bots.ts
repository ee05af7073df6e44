/**
 * Bots: `echo` (no config), `http` (`{url, secret}`; the secret signs each request)
 * and `llm` (an OpenAI-compatible model; see docs/llm-bot.md). Secrets are shown masked, and so is a
 * password in a URL (`https://user:••••@host/…`, SPEC §13); a PATCH that sends a masked secret or URL
 * back keeps the stored one. Each bot shows its health, and
 * `POST /api/bots/{id}/test` calls it once with a message, so a person sees the answer or the error.
 */
import { z } from 'zod'
import { botHealthOf, createBot, LLM_SECRET_FIELDS, llmConfigSchema, type BotRequest } from '../bots/index.js'
import { GW_ERR_API_INVALID_VALUE, GW_ERR_API_IN_USE, GW_ERR_BOT_FAILED, isGatewayError } from '../core/errors.js'
import { isMaskOf, maskSecret } from '../core/secret-box.js'
import { isMaskedUrlOf, looksMaskedUrl, maskUrl } from '../core/scrub.js'
import { checkBotUrls } from './url-policy.js'
import type { BotWithConfig, StoredBotType } from '../store/repos/bots.js'
import { callerOf } from './auth.js'
import { idParam, notFound, type ApiContext, type ApiRoutes } from './api-context.js'
import type { BotDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { NAME_MAX, parseBody, parseValue } from './validation.js'

/** Shortest accepted signing secret: shorter ones could be guessed from a few signatures offline. */
const SECRET_MIN = 16
/** Each type's config fields that hold secrets, dotted for nested ones. */
const SECRET_FIELDS: Record<StoredBotType, readonly string[]> = { echo: [], http: ['secret'], llm: LLM_SECRET_FIELDS }
/** Each type's config fields that hold URLs, which may carry credentials (`user:pass@`): shown masked. */
const URL_FIELDS: Record<StoredBotType, readonly string[]> = { echo: [], http: ['url'], llm: ['base_url', 'transcription.base_url', 'speech.base_url'] }
/** An llm config's nested objects: replaced whole by a PATCH, their masked keys kept. */
const NESTED_FIELDS = ['transcription', 'speech']

/** A config as stored: flat strings for `http`, nested values and numbers for `llm` (encrypted JSON either way). */
type StoredConfig = Record<string, unknown>

export const httpConfigSchema = z.strictObject(
  {
    url: z
      .url({ protocol: /^https?$/, error: 'must be the http:// or https:// URL Switchboard POSTs each message to' })
      .max(2048),
    secret: z
      .string()
      .min(SECRET_MIN, { error: `must be at least ${SECRET_MIN} characters long; it signs every request to the bot` })
      .max(512),
  },
  { error: 'must be a JSON object with url and secret' },
)

const configSchema = z.unknown()

export const createBotSchema = z.strictObject({
  name: z.string().trim().min(1).max(NAME_MAX),
  type: z.enum(['echo', 'http', 'llm']),
  config: configSchema.optional(),
})

export const patchBotSchema = z.strictObject({
  // Accepted only when it names the current type, so a GET → edit → PATCH round trip works.
  type: z.string().optional(),
  name: z.string().trim().min(1).max(NAME_MAX).optional(),
  config: configSchema.optional(),
})

export const testBotSchema = z.strictObject({
  text: z.string().trim().min(1).max(4096),
})

/** Whether an echo bot's config is absent or empty. */
function isEmptyConfig(config: unknown): boolean {
  return (
    config === undefined ||
    config === null ||
    (typeof config === 'object' && !Array.isArray(config) && Object.keys(config).length === 0)
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value at a dotted path of a config. */
function valueAt(config: StoredConfig, path: string): unknown {
  let current: unknown = config
  for (const key of path.split('.')) current = isObject(current) ? current[key] : undefined
  return current
}

/**
 * The PATCH input merged over the stored config: top-level fields replace (null removes one), nested
 * objects (an llm bot's `speech`) replace whole; a secret sent back masked keeps the stored secret.
 */
function mergeConfig(type: StoredBotType, input: Record<string, unknown>, stored: StoredConfig): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...stored }
  for (const [key, value] of Object.entries(input)) {
    if (value === null) delete merged[key]
    else if (NESTED_FIELDS.includes(key) && isObject(value)) merged[key] = { ...value }
    else merged[key] = value
  }
  for (const path of SECRET_FIELDS[type]) {
    const sent = valueAt(input, path)
    const current = valueAt(stored, path)
    if (typeof sent !== 'string' || typeof current !== 'string' || !isMaskOf(sent, current)) continue
    const keys = path.split('.')
    const parent = keys.length === 1 ? merged : merged[keys[0]!]
    if (isObject(parent)) parent[keys[keys.length - 1]!] = current
  }
  for (const path of URL_FIELDS[type]) keepMaskedUrl(path, input, stored, merged)
  if (type === 'llm') keepKeysWithTheirServers(input, stored, merged)
  return merged
}

/**
 * A URL sent back exactly as shown (its password masked) keeps the stored URL; a masked URL that is not
 * the stored one's mask would store `••••` as the password, so it is refused, naming the field.
 */
function keepMaskedUrl(path: string, input: Record<string, unknown>, stored: StoredConfig, merged: Record<string, unknown>): void {
  const sent = valueAt(input, path)
  if (typeof sent !== 'string') return
  const current = valueAt(stored, path)
  if (typeof current === 'string' && isMaskedUrlOf(sent, current)) {
    const keys = path.split('.')
    const parent = keys.length === 1 ? merged : merged[keys[0]!]
    if (isObject(parent)) parent[keys[keys.length - 1]!] = current
    return
  }
  if (looksMaskedUrl(sent)) {
    const field = `config.${path}`
    throw GW_ERR_API_INVALID_VALUE(
      `"${field}" carries a masked password but is not the stored URL as shown; send the URL with its password, or exactly as shown to keep it.`,
      { field },
    )
  }
}

/** The base URL an llm config's key at `path` is sent to (`speech.api_key` → `speech.base_url`, else `base_url`). */
function llmBaseOf(config: StoredConfig, path: string): unknown {
  const [section] = path.split('.')
  const own = path.includes('.') ? valueAt(config, `${section}.base_url`) : undefined
  return own ?? config.base_url
}

/**
 * A stored key goes only to the server it was given for: a PATCH that moves a key's base URL must send
 * the key itself again, else anyone who may edit the bot could point it at their own server and receive
 * the key without ever seeing it.
 */
function keepKeysWithTheirServers(input: Record<string, unknown>, stored: StoredConfig, merged: Record<string, unknown>): void {
  for (const path of LLM_SECRET_FIELDS) {
    const storedKey = valueAt(stored, path)
    if (typeof storedKey !== 'string' || valueAt(merged, path) !== storedKey || valueAt(input, path) === storedKey) continue
    if (llmBaseOf(merged, path) === llmBaseOf(stored, path)) continue
    const field = `config.${path}`
    throw GW_ERR_API_INVALID_VALUE(
      `"${field}" must be sent again (not masked or left out) when its server's base URL changes: a stored key is only sent to the server it was given for.`,
      { field },
    )
  }
}

/** Validates the config of a bot of `type`; `stored` is the current config on PATCH. */
function validateBotConfig(type: StoredBotType, input: unknown, stored?: StoredConfig): StoredConfig {
  if (type === 'echo') {
    if (!isEmptyConfig(input)) {
      throw GW_ERR_API_INVALID_VALUE('An echo bot takes no config; leave "config" out or send {}.', { field: 'config' })
    }
    return {}
  }
  const candidate = stored !== undefined && isObject(input) ? mergeConfig(type, input, stored) : input
  if (stored === undefined && isObject(input)) for (const path of URL_FIELDS[type]) keepMaskedUrl(path, input, {}, {})
  if (type === 'llm') return parseValue(llmConfigSchema, candidate, 'config')
  return parseValue(httpConfigSchema, candidate, 'config')
}

/** A copy of the config with each secret masked, and each URL's password. */
function maskedConfig(type: StoredBotType, config: StoredConfig): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(config)) copy[key] = isObject(value) ? { ...value } : value
  for (const path of SECRET_FIELDS[type] ?? []) {
    const keys = path.split('.')
    const parent = keys.length === 1 ? copy : copy[keys[0]!]
    const last = keys[keys.length - 1]!
    if (isObject(parent) && typeof parent[last] === 'string') parent[last] = maskSecret(parent[last])
  }
  for (const path of URL_FIELDS[type] ?? []) {
    const keys = path.split('.')
    const parent = keys.length === 1 ? copy : copy[keys[0]!]
    const last = keys[keys.length - 1]!
    if (isObject(parent) && typeof parent[last] === 'string') parent[last] = maskUrl(parent[last])
  }
  return copy
}

/** A bot as the API shows it: secrets masked, with its health. */
export function presentBot(bot: BotWithConfig): BotDto {
  return {
    id: bot.id,
    name: bot.name,
    type: bot.type,
    config: maskedConfig(bot.type, bot.config),
    health: { status: bot.health.status, message: bot.health.message, last_seen_at: bot.health.lastSeenAt },
    created_at: bot.createdAt,
    updated_at: bot.updatedAt,
  }
}

/** The message a test call sends: a text from nobody in particular, with no history. */
function testRequest(botId: string, text: string): BotRequest {
  return {
    conversationId: `test_${botId}`,
    channelId: 'test',
    participant: { id: 'test', phone: null, bsuid: null, name: 'Test' },
    message: { id: `test_${botId}`, type: 'text', text, fields: {}, payload: {} },
    history: [],
  }
}

/** Calls the bot once; its replies, or its error as the body of a 502. */
async function testBot(context: ApiContext, bot: BotWithConfig, text: string): Promise<{ status: number; body: unknown }> {
  const { clock } = context.deps.providerDeps
  const dispatcher = context.deps.teamDispatcher
  try {
    const client = createBot(bot.type, bot.config, { dispatcher, clock })
    const replies = await client.respond(testRequest(bot.id, text))
    // A test call is a real call: what it shows is the bot's health, as a message's call would be.
    await context.bots.recordHealth(bot.id, 'ok', null)
    return { status: 200, body: { replies } }
  } catch (error) {
    // A bot's failure is the answer here, never a 500: the console shows it as the bot would fail.
    const failure = isGatewayError(error)
      ? error
      : GW_ERR_BOT_FAILED(`The ${bot.type} bot failed unexpectedly; check its config, and the gateway's log.`)
    if (!isGatewayError(error)) context.deps.logger.warn({ botId: bot.id, err: error }, 'api:bot:test_failed')
    await context.bots.recordHealth(bot.id, botHealthOf(error), failure.message.slice(0, 500))
    return { status: 502, body: { error: { code: failure.apiCode, message: failure.message, health: botHealthOf(error) } } }
  }
}

/** Registers the bot routes. */
export const botRoutes: ApiRoutes = (server, context) => {
  server.post('/api/bots', async (request, reply) => {
    const caller = callerOf(request)
    const body = parseBody(createBotSchema, request.body)
    const config = validateBotConfig(body.type, body.config)
    checkBotUrls(context.deps, config as Record<string, unknown>)
    // The repo's type says flat strings (the http bot); nested llm values round-trip through its JSON.
    const bot = await context.bots.create({ teamId: caller.teamId, name: body.name, type: body.type, config: config as Record<string, string> })
    request.log.info({ teamId: caller.teamId, botId: bot.id, type: bot.type }, 'api:bot:created')
    return reply.code(201).send(presentBot(bot))
  })

  server.get('/api/bots', async (request) => {
    const caller = callerOf(request)
    const page = parsePageQuery(request.query)
    return toPage(await context.bots.list(caller.teamId, probe(page)), page, presentBot)
  })

  server.get('/api/bots/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'bot')
    const bot = await context.bots.get(caller.teamId, id)
    if (!bot) throw notFound('bot', id)
    return presentBot(bot)
  })

  server.patch('/api/bots/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'bot')
    const body = parseBody(patchBotSchema, request.body)
    const current = await context.bots.get(caller.teamId, id)
    if (!current) throw notFound('bot', id)
    if (body.type !== undefined && body.type !== current.type) {
      throw GW_ERR_API_INVALID_VALUE(`A bot's type cannot change (this one is ${current.type}); create a new bot instead.`, { field: 'type' })
    }
    const config = body.config === undefined ? undefined : validateBotConfig(current.type, body.config, current.config)
    if (config !== undefined) checkBotUrls(context.deps, config as Record<string, unknown>)
    const bot = await context.bots.update(caller.teamId, id, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(config !== undefined ? { config: config as Record<string, string> } : {}),
    })
    if (!bot) throw notFound('bot', id)
    request.log.info({ teamId: caller.teamId, botId: id }, 'api:bot:updated')
    return presentBot(bot)
  })

  server.post('/api/bots/:id/test', async (request, reply) => {
    const caller = callerOf(request)
    const id = idParam(request, 'bot')
    const body = parseBody(testBotSchema, request.body)
    const bot = await context.bots.get(caller.teamId, id)
    if (!bot) throw notFound('bot', id)
    const outcome = await testBot(context, bot, body.text)
    request.log.info({ teamId: caller.teamId, botId: id, status: outcome.status }, 'api:bot:tested')
    return reply.code(outcome.status).send(outcome.body)
  })

  server.delete('/api/bots/:id', async (request, reply) => {
    const caller = callerOf(request)
    const id = idParam(request, 'bot')
    const outcome = await context.bots.delete(caller.teamId, id)
    if (outcome === 'not_found') throw notFound('bot', id)
    if (outcome === 'in_use') throw GW_ERR_API_IN_USE(`Bot ${id} answers at least one channel; move those channels to another bot or delete them first.`)
    request.log.info({ teamId: caller.teamId, botId: id }, 'api:bot:deleted')
    return reply.code(204).send()
  })
}
