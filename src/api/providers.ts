/**
 * Providers (SPEC §4): a team's accounts at Meta, Twilio or Turn.io. Each type's config is validated,
 * masked and turned into `extra_data` by its `ProviderKind`; this file knows no provider by name.
 * A new provider's credentials are checked before it is stored (`Provider.checkCredentials`): a
 * provider that refuses them is not stored (422 `provider_refused`, in its own words), one that cannot be
 * asked is stored anyway (a network blip must not block setup) and the answer's `credentials` says so;
 * `POST /api/providers/{id}/test` checks again. A provider that lists its templates is synced once
 * created; the creation answer says how that went (`templates: {synced: n}` or `{error}`), and a failed
 * sync never fails the creation.
 */
import { z } from 'zod'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { isoNow } from '../core/clock.js'
import {
  GW_ERR_API_CONFLICT,
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_IN_USE,
  GW_ERR_API_MISSING_FIELD,
  GW_ERR_API_UNKNOWN_FIELD,
  GW_ERR_PROVIDER_REFUSED,
  GW_ERR_PROVIDER_UNREACHABLE,
  isGatewayError,
  type GatewayError,
} from '../core/errors.js'
import { isMaskOf, maskSecret } from '../core/secret-box.js'
import {
  isProviderType,
  ProviderError,
  providerKind,
  providerKinds,
  type ProviderConfig,
  type ProviderKind,
  type ProviderType,
} from '../providers/index.js'
import type { ProviderCheck, ProviderWithConfig } from '../store/repos/providers.js'
import type { ApiDeps } from './api-deps.js'
import { callerOf } from './auth.js'
import { idParam, notFound, publicUrlOf, type ApiContext, type ApiRoutes } from './api-context.js'
import type { CredentialCheckDto, ProviderDto, SignatureFailuresDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { syncProviderTemplates } from './templates.js'
import { NAME_MAX, parseBody } from './validation.js'

const TYPES = Object.keys(providerKinds).join(', ')
/** How many times a PATCH re-reads and re-merges when another PATCH changed the config meanwhile. */
const PATCH_ATTEMPTS = 3

const typeSchema = z.string().refine(isProviderType, { error: `must be one of ${TYPES}` })
const configSchema = z.record(z.string(), z.unknown(), { error: 'must be a JSON object of settings' })

export const createProviderSchema = z.strictObject({
  type: typeSchema,
  name: z.string().trim().min(1).max(NAME_MAX),
  config: configSchema,
})

export const patchProviderSchema = z.strictObject({
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

/** `text` with every secret of `config` (by the kind's `secretFields`) in its masked form. */
function redactConfigSecrets(kind: ProviderKind, config: ProviderConfig, text: string): string {
  let out = text
  for (const field of kind.secretFields) {
    const secret = config[field]
    // Very short values would mask ordinary words; the providers mask their own quotes of tokens too.
    if (secret !== undefined && secret.length >= 6) out = out.split(secret).join(maskSecret(secret))
  }
  return out
}

/** How a credential check ended: the check to record, and for a refusal the error to answer with. */
interface CheckOutcome {
  check: ProviderCheck
  refusal: GatewayError | undefined
}

/**
 * Asks the provider whether `config`'s credentials work (one cheap authenticated read). Never throws:
 * `ok` with the evidence sentence, `refused` with the provider's words (and the error, whose cause says
 * whether the token is invalid), `unreachable` when it could not be asked. No secret in any message.
 */
async function checkCredentials(deps: ApiDeps, kind: ProviderKind, config: ProviderConfig, log: FastifyBaseLogger): Promise<CheckOutcome> {
  const checked = (status: ProviderCheck['status'], message: string): ProviderCheck => ({
    status,
    message: redactConfigSecrets(kind, config, message),
    checkedAt: isoNow(deps.clock),
  })
  try {
    const evidence = await kind.create(config, deps.providerDeps).checkCredentials()
    return { check: checked('ok', evidence), refusal: undefined }
  } catch (error) {
    if (isGatewayError(error) && error.code === GW_ERR_PROVIDER_REFUSED.code) {
      const check = checked('refused', error.message)
      return { check, refusal: GW_ERR_PROVIDER_REFUSED(check.message, { field: 'config', cause: error.cause }) }
    }
    if (isGatewayError(error)) return { check: checked('unreachable', error.message), refusal: undefined }
    // A stored config that no longer validates (the kind refuses to build a client) is the gateway's refusal.
    if (error instanceof ProviderError && error.details.retry !== 'later') {
      const check = checked('refused', error.message)
      return { check, refusal: GW_ERR_PROVIDER_REFUSED(check.message, { field: 'config', cause: error }) }
    }
    // Not a catalogue error: log the class only (a provider's raw error could quote a request).
    log.warn({ type: kind.type, error: error instanceof Error ? error.name : typeof error }, 'api:provider:check-failed')
    return { check: checked('unreachable', GW_ERR_PROVIDER_UNREACHABLE().message), refusal: undefined }
  }
}

/** A credential check as the API shows it. */
function presentCheck(check: ProviderCheck): CredentialCheckDto {
  return { status: check.status, message: check.message, checked_at: check.checkedAt }
}

/**
 * `extra_data` keys kept for the gateway's own lookups and never shown: a verify token's hash would let
 * anyone who reads it try guesses offline (SPEC §13).
 */
const HIDDEN_EXTRA_DATA: ReadonlySet<string> = new Set(['verify_token_hash'])

/** A provider's `extra_data` as the API shows it: without the keys only the gateway needs. */
function shownExtraData(extraData: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(extraData).filter(([key]) => !HIDDEN_EXTRA_DATA.has(key)))
}

/** Webhooks whose signature failed, with where they came from (null before any). */
function presentSignatureFailures(failures: ProviderWithConfig['evidence']['signatureFailures']): SignatureFailuresDto | null {
  if (failures === null) return null
  return {
    count: failures.count,
    last_at: failures.lastAt,
    last_source: failures.lastSource,
    sources: failures.sources.map((source) => ({ address: source.address, count: source.count, last_at: source.lastAt })),
  }
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
    extra_data: shownExtraData(provider.extraData),
    health: {
      status: provider.health.status,
      message: provider.health.message,
      last_seen_at: provider.health.lastSeenAt,
      evidence: {
        last_webhook_at: provider.evidence.lastWebhookAt,
        last_send_ok_at: provider.evidence.lastSendOkAt,
        last_check: provider.evidence.lastCheck === null ? null : presentCheck(provider.evidence.lastCheck),
        signature_failures: presentSignatureFailures(provider.evidence.signatureFailures),
      },
    },
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
    // Checked before anything is stored: a refusal stores nothing; a provider that cannot be asked is stored.
    const { check, refusal } = await checkCredentials(context.deps, kind, config, request.log)
    if (refusal !== undefined) {
      request.log.info({ teamId: caller.teamId, type: kind.type }, 'api:provider:credentials-refused')
      throw refusal
    }
    const provider = await context.providers.create({
      teamId: caller.teamId,
      type: kind.type,
      name: body.name,
      config,
      extraData: kind.extraData(config),
      lastCheck: check,
    })
    request.log.info({ teamId: caller.teamId, providerId: provider.id, type: provider.type, credentials: check.status }, 'api:provider:created')
    const created: ProviderDto & { credentials: CredentialCheckDto; templates?: { synced: number } | { error: string } } = {
      ...presentProvider(provider, publicUrlOf(context.deps, request)),
      credentials: presentCheck(check),
    }
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

  server.post('/api/providers/:id/test', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'provider')
    const provider = await context.providers.get(caller.teamId, id)
    if (!provider) throw notFound('provider', id)
    const { check, refusal } = await checkCredentials(context.deps, providerKind(provider.type), provider.config, request.log)
    // Only while the config is the one checked: a PATCH made meanwhile gets its own check.
    await context.providers.recordCheck(provider.id, check, { configVersion: provider.configVersion })
    const cause = refusal?.cause
    if (cause instanceof ProviderError && cause.details.retry === 'stop-provider') {
      // The token is refused, as a send would find: hold the provider's sends now (SPEC §6, error 190).
      await context.providers.recordHealth(provider.id, 'token_invalid', check.message, check.checkedAt, { configVersion: provider.configVersion })
    }
    request.log.info({ teamId: caller.teamId, providerId: id, credentials: check.status }, 'api:provider:tested')
    return presentCheck(check)
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
