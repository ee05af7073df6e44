/**
 * Bots (SPEC §4, §7): `echo` (no config) and `http` (`{url, secret}`; the secret signs each request and
 * is shown masked). A PATCH that sends the masked secret back keeps the stored one.
 */
import { z } from 'zod'
import { GW_ERR_API_INVALID_VALUE, GW_ERR_API_IN_USE } from '../core/errors.js'
import { isMaskOf, maskSecret } from '../core/secret-box.js'
import type { BotWithConfig, StoredBotType } from '../store/repos/bots.js'
import { callerOf } from './auth.js'
import { idParam, notFound, type ApiRoutes } from './api-context.js'
import type { BotDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { NAME_MAX, parseBody, parseValue } from './validation.js'

/** Shortest accepted signing secret: shorter ones could be guessed from a few signatures offline. */
const SECRET_MIN = 16
/** The http bot's config keys that hold secrets. */
const SECRET_FIELDS = ['secret']

const httpConfigSchema = z.strictObject(
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

const createBotSchema = z.strictObject({
  name: z.string().trim().min(1).max(NAME_MAX),
  type: z.enum(['echo', 'http']),
  config: configSchema.optional(),
})

const patchBotSchema = z.strictObject({
  // Accepted only when it names the current type, so a GET → edit → PATCH round trip works.
  type: z.string().optional(),
  name: z.string().trim().min(1).max(NAME_MAX).optional(),
  config: configSchema.optional(),
})

/** Whether an echo bot's config is absent or empty. */
function isEmptyConfig(config: unknown): boolean {
  return (
    config === undefined ||
    config === null ||
    (typeof config === 'object' && !Array.isArray(config) && Object.keys(config).length === 0)
  )
}

/** Validates the config of a bot of `type`; `stored` is the current config on PATCH. */
function validateBotConfig(type: StoredBotType, input: unknown, stored?: Record<string, string>): Record<string, string> {
  if (type === 'echo') {
    if (!isEmptyConfig(input)) {
      throw GW_ERR_API_INVALID_VALUE('An echo bot takes no config; leave "config" out or send {}.', { field: 'config' })
    }
    return {}
  }
  let candidate = input
  if (stored !== undefined && typeof input === 'object' && input !== null && !Array.isArray(input)) {
    // Merge over the stored config; a secret sent back masked keeps the stored secret.
    const merged: Record<string, unknown> = { ...stored }
    for (const [key, value] of Object.entries(input)) {
      const current = stored[key]
      const keep = SECRET_FIELDS.includes(key) && typeof value === 'string' && current !== undefined && isMaskOf(value, current)
      if (!keep) merged[key] = value
    }
    candidate = merged
  }
  return parseValue(httpConfigSchema, candidate, 'config')
}

/** A bot as the API shows it: the secret masked. */
export function presentBot(bot: BotWithConfig): BotDto {
  const config: Record<string, string> = {}
  for (const [key, value] of Object.entries(bot.config)) config[key] = SECRET_FIELDS.includes(key) ? maskSecret(value) : value
  return { id: bot.id, name: bot.name, type: bot.type, config, created_at: bot.createdAt, updated_at: bot.updatedAt }
}

/** Registers the bot routes. */
export const botRoutes: ApiRoutes = (server, context) => {
  server.post('/api/bots', async (request, reply) => {
    const caller = callerOf(request)
    const body = parseBody(createBotSchema, request.body)
    const config = validateBotConfig(body.type, body.config)
    const bot = await context.bots.create({ teamId: caller.teamId, name: body.name, type: body.type, config })
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
    const bot = await context.bots.update(caller.teamId, id, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(config !== undefined ? { config } : {}),
    })
    if (!bot) throw notFound('bot', id)
    request.log.info({ teamId: caller.teamId, botId: id }, 'api:bot:updated')
    return presentBot(bot)
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
