/**
 * Providers (SPEC §4): a team's accounts at Meta, Twilio or Turn.io. Each type's config is validated,
 * masked and turned into `extra_data` by its `ProviderKind`; this file knows no provider by name.
 * A provider that lists its templates is synced once created; the creation answer says how that went
 * (`templates: {synced: n}` or `{error}`), and a failed sync never fails the creation.
 */
import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import {
  GW_ERR_API_CONFLICT,
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_IN_USE,
  GW_ERR_API_MISSING_FIELD,
  GW_ERR_API_UNKNOWN_FIELD,
  isGatewayError,
  type GatewayError,
} from '../core/errors.js'
import { isMaskOf, maskSecret } from '../core/secret-box.js'
import { isProviderType, providerKind, providerKinds, type ProviderConfig, type ProviderKind, type ProviderType } from '../providers/index.js'
import type { ProviderWithConfig } from '../store/repos/providers.js'
import { callerOf } from './auth.js'
import { idParam, notFound, publicUrlOf, type ApiContext, type ApiRoutes } from './api-context.js'
import type { ProviderDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { syncProviderTemplates } from './templates.js'
import { NAME_MAX, parseBody } from './validation.js'

const TYPES = Object.keys(providerKinds).join(', ')
/** How many times a PATCH re-reads and re-merges when another PATCH changed the config meanwhile. */
const PATCH_ATTEMPTS = 3

const typeSchema = z.string().refine(isProviderType, { error: `must be one of ${TYPES}` })
const configSchema = z.record(z.string(), z.unknown(), { error: 'must be a JSON object of settings' })

const createProviderSchema = z.strictObject({
  type: typeSchema,
  name: z.string().trim().min(1).max(NAME_MAX),
  config: configSchema,
})

const patchProviderSchema = z.strictObject({
  // Accepted only when it names the current type, so a GET → edit → PATCH round trip works.
  type: z.string().optional(),
  name: z.string().trim().min(1).max(NAME_MAX).optional(),
  // A null value removes an optional setting (its default applies again).
  config: configSchema.optional(),
})

/**
 * Maps a `parseConfig` failure to the right error. The contract names only the field, so the kind is
 * asked once more without it: a field it still requires, or fills with a default, or declares secret,
 * is one of its settings (an invalid value); anything else is an unknown setting.
 */
function configProblem(kind: ProviderKind, input: Record<string, unknown>, problem: { field: string; message: string }): GatewayError {
  const setting = problem.field.replace(/^config\./, '')
  if (setting === 'config' || setting === '') return GW_ERR_API_INVALID_VALUE(problem.message, { field: 'config' })
  const field = `config.${setting}`
  if (input[setting] === undefined) return GW_ERR_API_MISSING_FIELD(problem.message, { field })
  const { [setting]: _omitted, ...rest } = input
  const without = kind.parseConfig(rest)
  const isSetting =
    kind.secretFields.includes(setting) || (without.ok ? setting in without.config : without.field.replace(/^config\./, '') === setting)
  return isSetting ? GW_ERR_API_INVALID_VALUE(problem.message, { field }) : GW_ERR_API_UNKNOWN_FIELD(problem.message, { field })
}

/** Validates a full config with the kind; throws the catalogue error of the first problem. */
export function validateConfig(kind: ProviderKind, input: Record<string, unknown>): ProviderConfig {
  const result = kind.parseConfig(input)
  if (!result.ok) throw configProblem(kind, input, result)
  return result.config
}

/**
 * Merges a PATCH's config over the stored one: a secret sent back in its masked form keeps the stored
 * secret, and null removes a setting.
 */
function mergeConfig(kind: ProviderKind, stored: ProviderConfig, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...stored }
  for (const [key, value] of Object.entries(patch)) {
    const current = stored[key]
    if (value === null) delete merged[key]
    else if (kind.secretFields.includes(key) && typeof value === 'string' && current !== undefined && isMaskOf(value, current)) continue
    else if (kind.secretFields.includes(key) && typeof value === 'string' && value.includes('…')) {
      // Someone pasted a masked value that is not this provider's: storing it would break every call.
      throw GW_ERR_API_INVALID_VALUE(
        `"config.${key}" looks like a masked value but is not the mask of the stored one; send the full secret, or the mask exactly as shown to keep it.`,
        { field: `config.${key}` },
      )
    } else merged[key] = value
  }
  return merged
}

function sameConfig(a: ProviderConfig, b: ProviderConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const key of keys) if (a[key] !== b[key]) return false
  return true
}

/** Whether the kind uses one webhook URL for all channels (Meta, Twilio) rather than one per channel. */
function sharedWebhookUrl(kind: ProviderKind, publicUrl: string): string | null {
  const one = kind.webhookUrl(publicUrl, 'chan_a')
  return one === kind.webhookUrl(publicUrl, 'chan_b') ? one : null
}

/** A provider as the API shows it: secrets masked, plain settings shown. */
export function presentProvider(provider: ProviderWithConfig, publicUrl: string): ProviderDto {
  const kind = providerKind(provider.type)
  const config: Record<string, string> = {}
  for (const [key, value] of Object.entries(provider.config)) config[key] = kind.secretFields.includes(key) ? maskSecret(value) : value
  return {
    id: provider.id,
    type: provider.type,
    name: provider.name,
    config,
    extra_data: provider.extraData,
    health: { status: provider.health.status, message: provider.health.message, last_seen_at: provider.health.lastSeenAt },
    webhook_url: sharedWebhookUrl(kind, publicUrl),
    created_at: provider.createdAt,
    updated_at: provider.updatedAt,
  }
}

async function patchProvider(context: ApiContext, request: FastifyRequest, teamId: string, id: string): Promise<ProviderWithConfig> {
  const body = parseBody(patchProviderSchema, request.body)
  for (let attempt = 1; ; attempt++) {
    const current = await context.providers.get(teamId, id)
    if (!current) throw notFound('provider', id)
    if (body.type !== undefined && body.type !== current.type) {
      throw GW_ERR_API_INVALID_VALUE(
        `A provider's type cannot change (this one is ${current.type}); create a new provider of type ${body.type} instead.`,
        { field: 'type' },
      )
    }
    const kind = providerKind(current.type)
    let config: ProviderConfig | undefined
    if (body.config !== undefined) {
      const merged = mergeConfig(kind, current.config, body.config)
      const parsed = validateConfig(kind, merged)
      if (!sameConfig(parsed, current.config)) config = parsed
    }
    const updated = await context.providers.update(teamId, id, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(config !== undefined ? { config: { config, extraData: kind.extraData(config) } } : {}),
      expectedConfigVersion: current.configVersion,
    })
    if (updated === 'not_found') throw notFound('provider', id)
    if (updated !== 'stale') {
      request.log.info({ teamId, providerId: id, configChanged: config !== undefined, configVersion: updated.configVersion }, 'api:provider:updated')
      return updated
    }
    // Another PATCH changed the config since we read it: merge again over its result.
    if (attempt >= PATCH_ATTEMPTS) {
      throw GW_ERR_API_CONFLICT(`Provider ${id} was changed by other requests while this one ran; send the PATCH again.`)
    }
  }
}

/** Registers the provider routes. */
export const providerRoutes: ApiRoutes = (server, context) => {
  server.post('/api/providers', async (request, reply) => {
    const caller = callerOf(request)
    const body = parseBody(createProviderSchema, request.body)
    const kind = providerKind(body.type as ProviderType)
    const config = validateConfig(kind, body.config)
    const provider = await context.providers.create({
      teamId: caller.teamId,
      type: kind.type,
      name: body.name,
      config,
      extraData: kind.extraData(config),
    })
    request.log.info({ teamId: caller.teamId, providerId: provider.id, type: provider.type }, 'api:provider:created')
    const created: ProviderDto & { templates?: { synced: number } | { error: string } } = presentProvider(provider, publicUrlOf(context.deps, request))
    if (kind.capabilities.templates === 'synced') {
      try {
        created.templates = { synced: await syncProviderTemplates(context.deps, provider) }
      } catch (error) {
        // The provider exists either way; POST /api/providers/{id}/templates/sync tries again.
        const message = isGatewayError(error) ? error.message : 'The templates could not be synced; try POST /api/providers/{id}/templates/sync.'
        request.log.warn({ teamId: caller.teamId, providerId: provider.id, err: message }, 'api:provider:templates-sync-failed')
        created.templates = { error: message }
      }
    }
    return reply.code(201).send(created)
  })

  server.get('/api/providers', async (request) => {
    const caller = callerOf(request)
    const page = parsePageQuery(request.query)
    const publicUrl = publicUrlOf(context.deps, request)
    return toPage(await context.providers.list(caller.teamId, probe(page)), page, (p) => presentProvider(p, publicUrl))
  })

  server.get('/api/providers/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'provider')
    const provider = await context.providers.get(caller.teamId, id)
    if (!provider) throw notFound('provider', id)
    return presentProvider(provider, publicUrlOf(context.deps, request))
  })

  server.patch('/api/providers/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'provider')
    const provider = await patchProvider(context, request, caller.teamId, id)
    return presentProvider(provider, publicUrlOf(context.deps, request))
  })

  server.delete('/api/providers/:id', async (request, reply) => {
    const caller = callerOf(request)
    const id = idParam(request, 'provider')
    const outcome = await context.providers.delete(caller.teamId, id)
    if (outcome === 'not_found') throw notFound('provider', id)
    if (outcome === 'in_use') {
      throw GW_ERR_API_IN_USE(`Provider ${id} is used by at least one channel; delete those channels first.`)
    }
    request.log.info({ teamId: caller.teamId, providerId: id }, 'api:provider:deleted')
    return reply.code(204).send()
  })
}
