/**
 * Channels (SPEC §4): one WhatsApp number of a provider, connected to one bot. Creation checks, in
 * order: the body, the bot and provider (in the caller's team), the number's form, that no channel has
 * it where it must be unique (the provider kind's `numberScope`: in the gateway for numbers whose
 * webhooks are routed by number, else in the team; a team never holds a number twice), and that the
 * provider has it (Meta and Twilio list their numbers; Turn.io takes it as given).
 * A channel whose webhook URL the provider could not call (http, or a local address) says so in
 * `webhook_url_problem`, in a sentence naming what to set.
 */
import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import { isoNow } from '../core/clock.js'
import {
  GW_ERR_API_INVALID_PHONE_NUMBER,
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_NUMBER_IN_USE,
  GW_ERR_PROVIDER_UNREACHABLE,
  isGatewayError,
} from '../core/errors.js'
import { toE164 } from '../core/phone.js'
import { publicAddressProblem } from '../core/public-address.js'
import { ProviderError, providerKind, type NumberMatch, type ProviderKind, type ProviderType } from '../providers/index.js'
import type { Channel } from '../store/repos/channels.js'
import type { ProviderWithConfig } from '../store/repos/providers.js'
import { callerOf, type Caller } from './auth.js'
import { idParam, notFound, publicUrlOf, type ApiContext, type ApiRoutes } from './api-context.js'
import type { ChannelDto } from './dto.js'
import { looksLikeId, parsePageQuery, probe, toPage } from './pagination.js'
import { channelSettingsSchema, channelSettingsView, mergeChannelSettings } from '../core/channel-settings.js'
import { NAME_MAX, parseBody } from './validation.js'

const NUMBER_FORMATS = 'international form with the country code, e.g. +27812345678, +27 81 234 5678, +27-81-234-5678 or +1 (212) 555-2368'
/** Longest auto-reply of a disabled channel: one WhatsApp text message. */
const DISABLED_MESSAGE_MAX = 4096
/** Bounds of the per-number send pacing (our extension of SPEC §6). */
const THROUGHPUT_MIN = 1
const THROUGHPUT_MAX = 1000

const idSchema = z.string().trim().min(1).max(100)

export const createChannelSchema = z.strictObject({
  bot_id: idSchema,
  provider_id: idSchema,
  number: z.string().min(1).max(64),
  name: z.string().trim().min(1).max(NAME_MAX).optional(),
})

export const patchChannelSchema = z.strictObject({
  bot_id: idSchema.optional(),
  name: z.string().trim().min(1).max(NAME_MAX).optional(),
  enabled: z.boolean().optional(),
  disabled_message: z.string().max(DISABLED_MESSAGE_MAX).nullable().optional(),
  throughput_mps: z
    .number()
    .int({ error: `must be a whole number of messages per second from ${THROUGHPUT_MIN} to ${THROUGHPUT_MAX}, or null for the provider's default` })
    .min(THROUGHPUT_MIN)
    .max(THROUGHPUT_MAX)
    .nullable()
    .optional(),
  // null = the provider's default (on where it has one: Meta).
  typing_indicator: z.boolean().nullable().optional(),
  ...channelSettingsSchema.shape,
  // Fixed at creation; accepted only when unchanged, so a GET → edit → PATCH round trip works.
  number: z.string().optional(),
  provider_id: z.string().optional(),
})

/** The settings fields of a PATCH, merged into the stored JSON; nothing when none is given. */
function settingsPatch(body: z.output<typeof patchChannelSchema>, current: Channel): { settingsJson?: string } {
  const given = Object.fromEntries(Object.keys(channelSettingsSchema.shape).flatMap((key) => {
    const value = (body as Record<string, unknown>)[key]
    return value === undefined ? [] : [[key, value]]
  }))
  if (Object.keys(given).length === 0) return {}
  return { settingsJson: mergeChannelSettings(current.settingsJson, given) }
}

/**
 * Why the provider cannot call `webhookUrl`, as a sentence saying what to set, or null. Every provider
 * calls from the internet (Meta only over HTTPS), so an http:// or local address is a setup fault even
 * before the first webhook fails to come.
 */
export function webhookUrlProblem(kind: ProviderKind, webhookUrl: string): string | null {
  if (publicAddressProblem(webhookUrl) === null) return null
  const shown = URL.canParse(webhookUrl) ? new URL(webhookUrl).origin : webhookUrl
  return `${kind.label} must reach this webhook from the internet over HTTPS; ${shown} is not such an address. Set PUBLIC_URL to your public https:// address (see docs/deploy.md).`
}

/** A channel as the API shows it. */
export function presentChannel(channel: Channel, publicUrl: string): ChannelDto {
  const kind = providerKind(channel.providerType as ProviderType)
  const webhookUrl = kind.webhookUrl(publicUrl, channel.id)
  return {
    id: channel.id,
    name: channel.name,
    bot_id: channel.botId,
    provider_id: channel.providerId,
    platform: channel.platform,
    number: channel.number,
    extra_data: channel.extraData,
    from_identifier: channel.fromIdentifier,
    webhook_url: webhookUrl,
    webhook_url_problem: webhookUrlProblem(kind, webhookUrl),
    enabled: channel.enabled,
    disabled_message: channel.disabledMessage,
    throughput_mps: channel.throughputMps,
    typing_indicator: channel.typingIndicator ?? kind.capabilities.typingIndicator,
    ...(channelSettingsView(channel.settings) as Pick<ChannelDto, 'out_of_window_template' | 'opt_out_keywords' | 'opt_in_keywords' | 'opt_out_reply' | 'opt_in_reply' | 'handover_timeout_minutes' | 'retention_days'>),
    created_at: channel.createdAt,
    updated_at: channel.updatedAt,
  }
}

/** The team's bot named by `field`, or 404 naming the field. */
async function requireBot(context: ApiContext, caller: Caller, botId: string, field: string): Promise<void> {
  const bot = looksLikeId(botId) ? await context.bots.get(caller.teamId, botId) : undefined
  if (!bot) throw notFound('bot', botId, field)
}

/** The number in E.164, or 422 `invalid_phone_number`. */
function normalizeNumber(number: string): string {
  const e164 = toE164(number)
  if (e164 === null) {
    throw GW_ERR_API_INVALID_PHONE_NUMBER(`"number" is not a valid phone number; write it in ${NUMBER_FORMATS}.`, { field: 'number' })
  }
  return e164
}

/**
 * 409 for a number another channel holds. Its own team learns which channel; another team learns only
 * that a channel of another team has it (never its id or name), and why that matters for this provider.
 */
function numberInUse(e164: string, holder: Channel | undefined, caller: Caller, kind: ProviderKind): Error {
  const message =
    holder === undefined
      ? `${e164} is already connected to another channel; connect a number once.`
      : holder.teamId === caller.teamId
        ? `${e164} is already connected to another channel of this team (channel ${holder.id}); a team can connect a number once.`
        : `${e164} is already connected to another channel, in another team; a number whose webhooks are routed by number (as ${kind.label}'s are) can serve one channel in the whole gateway. If the number is yours, ask the gateway's operator.`
  return GW_ERR_API_NUMBER_IN_USE(message, { field: 'number' })
}

/**
 * Asks the provider whether it has the number. Catalogue errors pass through (422 not found, 422
 * provider_refused, 502 provider_unreachable); a token the provider refused is also recorded on the
 * provider's health (SPEC §4).
 */
async function lookUpNumber(context: ApiContext, request: FastifyRequest, provider: ProviderWithConfig, e164: string): Promise<NumberMatch> {
  const kind = providerKind(provider.type)
  try {
    return await kind.create(provider.config, context.deps.providerDeps).findNumber(e164)
  } catch (error) {
    const refusal = isGatewayError(error) ? error.cause : error
    if (refusal instanceof ProviderError && refusal.details.retry === 'stop-provider') {
      const message = isGatewayError(error) ? error.message : refusal.message
      await context.providers.recordHealth(provider.id, 'token_invalid', message, isoNow(context.deps.clock), {
        configVersion: provider.configVersion,
      })
    }
    if (isGatewayError(error)) throw error
    // Not a catalogue error: log the class only (a provider's raw error could quote a request).
    request.log.warn({ providerId: provider.id, error: error instanceof Error ? error.name : typeof error }, 'api:channel:lookup-failed')
    throw GW_ERR_PROVIDER_UNREACHABLE('The provider could not be asked about this number; try again in a moment.')
  }
}

/** Registers the channel routes. */
export const channelRoutes: ApiRoutes = (server, context) => {
  server.post('/api/channels', async (request, reply) => {
    const caller = callerOf(request)
    const body = parseBody(createChannelSchema, request.body)
    await requireBot(context, caller, body.bot_id, 'bot_id')
    const provider = looksLikeId(body.provider_id) ? await context.providers.get(caller.teamId, body.provider_id) : undefined
    if (!provider) throw notFound('provider', body.provider_id, 'provider_id')
    const e164 = normalizeNumber(body.number)
    const kind = providerKind(provider.type)
    const holder = await context.channels.findNumberHolder(caller.teamId, e164, kind.numberScope)
    if (holder) throw numberInUse(e164, holder, caller, kind)
    const match = await lookUpNumber(context, request, provider, e164)
    const channel = await context.channels.create({
      teamId: caller.teamId,
      botId: body.bot_id,
      providerId: provider.id,
      providerType: provider.type,
      number: e164,
      numberScope: kind.numberScope,
      name: body.name ?? e164,
      fromIdentifier: match.fromIdentifier,
      extraData: match.extraData,
    })
    // A concurrent request created a channel for this number (or its from identifier) meanwhile.
    if (channel === 'number_in_use') {
      throw numberInUse(e164, await context.channels.findNumberHolder(caller.teamId, e164, kind.numberScope), caller, kind)
    }
    if (channel === 'reference_missing') throw notFound('bot or provider', `${body.bot_id}`, 'bot_id')
    request.log.info({ teamId: caller.teamId, channelId: channel.id, providerId: provider.id }, 'api:channel:created')
    return reply.code(201).send(presentChannel(channel, publicUrlOf(context.deps, request)))
  })

  server.get('/api/channels', async (request) => {
    const caller = callerOf(request)
    const page = parsePageQuery(request.query)
    const publicUrl = publicUrlOf(context.deps, request)
    return toPage(await context.channels.list(caller.teamId, probe(page)), page, (c) => presentChannel(c, publicUrl))
  })

  server.get('/api/channels/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'channel')
    const channel = await context.channels.get(caller.teamId, id)
    if (!channel) throw notFound('channel', id)
    return presentChannel(channel, publicUrlOf(context.deps, request))
  })

  server.patch('/api/channels/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'channel')
    const body = parseBody(patchChannelSchema, request.body)
    const current = await context.channels.get(caller.teamId, id)
    if (!current) throw notFound('channel', id)
    if (body.number !== undefined && toE164(body.number) !== current.number) {
      throw GW_ERR_API_INVALID_VALUE(`A channel's number cannot change (this one is ${current.number}); create a new channel for the other number.`, {
        field: 'number',
      })
    }
    if (body.provider_id !== undefined && body.provider_id !== current.providerId) {
      throw GW_ERR_API_INVALID_VALUE("A channel's provider cannot change; create a new channel on the other provider.", { field: 'provider_id' })
    }
    if (body.bot_id !== undefined) await requireBot(context, caller, body.bot_id, 'bot_id')
    const updated = await context.channels.update(caller.teamId, id, {
      ...(body.bot_id !== undefined ? { botId: body.bot_id } : {}),
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...(body.disabled_message !== undefined ? { disabledMessage: body.disabled_message } : {}),
      ...(body.throughput_mps !== undefined ? { throughputMps: body.throughput_mps } : {}),
      ...(body.typing_indicator !== undefined ? { typingIndicator: body.typing_indicator } : {}),
      ...settingsPatch(body, current),
    })
    if (updated === 'not_found') throw notFound('channel', id)
    if (updated === 'reference_missing') throw notFound('bot', body.bot_id ?? '', 'bot_id')
    request.log.info({ teamId: caller.teamId, channelId: id }, 'api:channel:updated')
    return presentChannel(updated, publicUrlOf(context.deps, request))
  })

  server.delete('/api/channels/:id', async (request, reply) => {
    const caller = callerOf(request)
    const id = idParam(request, 'channel')
    if (!(await context.channels.delete(caller.teamId, id))) throw notFound('channel', id)
    request.log.info({ teamId: caller.teamId, channelId: id }, 'api:channel:deleted')
    return reply.code(204).send()
  })
}
