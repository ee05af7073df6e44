/**
 * Templates of a provider (listed, synced on demand): `GET /api/providers/{id}/templates` and
 * `POST /api/providers/{id}/templates/sync`. A provider that lists its templates
 * (`capabilities.templates` is `synced`) is synced here, at its creation (api/providers.ts) and, for a
 * template first seen in a status webhook, in the background; others send templates as given.
 */
import { isoNow } from '../core/clock.js'
import { GW_ERR_API_UNSUPPORTED_BY_PROVIDER, GW_ERR_PROVIDER_UNREACHABLE, isGatewayError } from '../core/errors.js'
import { ProviderError, providerKind } from '../providers/index.js'
import type { ProviderWithConfig } from '../store/repos/providers.js'
import { createProvidersRepo } from '../store/repos/providers.js'
import { createTemplatesRepo, type StoredTemplate, type TemplateStatusOutcome, type TemplateStatusUpdate } from '../store/repos/templates.js'
import type { ApiDeps } from './api-deps.js'
import { idParam, notFound, type ApiRoutes } from './api-context.js'
import { callerOf } from './auth.js'
import { parsePageQuery, probe, toPage } from './pagination.js'

/** A template as the API shows it. */
export interface TemplateDto {
  name: string
  /** `en_US` form. */
  language: string
  /** `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`… (Twilio: its WhatsApp approval, `UNSUBMITTED` when none). */
  status: string
  category: string | null
  parameter_format: string
  /** What a send must give (`["1","2"]` or names); null until a sync when first seen in a status webhook. */
  params: string[] | null
  /** The provider's own description (Meta components, Twilio content types). */
  components: unknown
}

/** A template row as the API shows it. */
export function presentTemplate(template: StoredTemplate): TemplateDto {
  return {
    name: template.name,
    language: template.language,
    status: template.status,
    category: template.category,
    parameter_format: template.parameterFormat,
    params: template.params,
    components: template.components,
  }
}

/**
 * Lists the provider's templates at the provider and replaces the stored list; returns how many.
 * Throws `unsupported_by_provider` for a provider that does not list templates, `provider_refused` (with
 * the provider's words) when it refuses, and `provider_unreachable` when it cannot be asked; a refused
 * token is also recorded on the provider's health, as channel creation does.
 */
export async function syncProviderTemplates(deps: ApiDeps, provider: ProviderWithConfig): Promise<number> {
  const kind = providerKind(provider.type)
  if (kind.capabilities.templates !== 'synced') {
    throw GW_ERR_API_UNSUPPORTED_BY_PROVIDER(
      `A ${provider.type} provider does not list its templates: templates are sent as given, with the name and language its account knows.`,
    )
  }
  let listed
  try {
    listed = await kind.create(provider.config, deps.providerDeps).listTemplates()
  } catch (error) {
    const refusal = isGatewayError(error) ? error.cause : error
    if (refusal instanceof ProviderError && refusal.details.retry === 'stop-provider') {
      const message = isGatewayError(error) ? error.message : refusal.message
      await createProvidersRepo(deps).recordHealth(provider.id, 'token_invalid', message, isoNow(deps.clock), { configVersion: provider.configVersion })
    }
    if (isGatewayError(error)) throw error
    throw GW_ERR_PROVIDER_UNREACHABLE('The provider could not be asked for its templates; try again in a moment.')
  }
  return createTemplatesRepo(deps).replaceForProvider(provider.teamId, provider.id, listed, deps.clock.now())
}

/**
 * Applies a template status webhook to a provider's stored templates. A template not known yet is
 * inserted with what the webhook tells, and the provider's list is synced in the background (one sync
 * per provider at a time) to learn its parameters; a failed background sync is logged, nothing more.
 */
export function createTemplateStatusApplier(deps: ApiDeps): (providerId: string, update: TemplateStatusUpdate) => Promise<TemplateStatusOutcome | 'no_provider'> {
  const templates = createTemplatesRepo(deps)
  const providers = createProvidersRepo(deps)
  const syncing = new Set<string>()
  const syncInBackground = (providerId: string) => {
    if (syncing.has(providerId)) return
    syncing.add(providerId)
    void (async () => {
      const provider = await providers.findByIdWithConfig(providerId)
      if (provider) await syncProviderTemplates(deps, provider)
    })()
      .catch((error: unknown) => deps.logger.warn({ providerId, err: error instanceof Error ? error.message : String(error) }, 'templates:sync:failed'))
      .finally(() => syncing.delete(providerId))
  }
  return async (providerId, update) => {
    const outcome = await templates.applyStatusUpdate(providerId, update, deps.clock.now())
    if (outcome === 'inserted') syncInBackground(providerId)
    return outcome
  }
}

/** The template routes. */
export function createTemplateRoutes(): ApiRoutes {
  return (server, context) => {
    const templates = createTemplatesRepo(context.deps)

    server.get('/api/providers/:id/templates', async (request) => {
      const caller = callerOf(request)
      const id = idParam(request, 'provider')
      const page = parsePageQuery(request.query)
      const provider = await context.providers.get(caller.teamId, id)
      if (!provider) throw notFound('provider', id)
      return toPage(await templates.list(caller.teamId, id, probe(page)), page, presentTemplate)
    })

    server.post('/api/providers/:id/templates/sync', async (request) => {
      const caller = callerOf(request)
      const id = idParam(request, 'provider')
      const provider = await context.providers.get(caller.teamId, id)
      if (!provider) throw notFound('provider', id)
      const synced = await syncProviderTemplates(context.deps, provider)
      request.log.info({ teamId: caller.teamId, providerId: id, synced }, 'api:templates:synced')
      return { synced }
    })
  }
}
