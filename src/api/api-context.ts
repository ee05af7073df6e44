/**
 * What every admin API route module receives: the deps from the composition root and the repos built
 * on them once, plus the few helpers all resources share.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { GW_ERR_API_NOT_FOUND } from '../core/errors.js'
import { createBotsRepo, type BotsRepo } from '../store/repos/bots.js'
import { createChannelsRepo, type ChannelsRepo } from '../store/repos/channels.js'
import { createProvidersRepo, type ProvidersRepo } from '../store/repos/providers.js'
import { createTeamsRepo, type TeamsRepo } from '../store/repos/teams.js'
import { createTokensRepo, type TokensRepo } from '../store/repos/tokens.js'
import type { ApiDeps } from './api-deps.js'
import { looksLikeId } from './pagination.js'

/** Deps plus repos, shared by the route modules. */
export interface ApiContext {
  readonly deps: ApiDeps
  readonly teams: TeamsRepo
  readonly tokens: TokensRepo
  readonly providers: ProvidersRepo
  readonly bots: BotsRepo
  readonly channels: ChannelsRepo
}

/** A route module: registers its routes on the admin API's (authenticated) plugin instance. */
export type ApiRoutes = (server: FastifyInstance, context: ApiContext) => void

/** Builds the context once per gateway. */
export function createApiContext(deps: ApiDeps): ApiContext {
  return {
    deps,
    teams: createTeamsRepo(deps),
    tokens: createTokensRepo(deps),
    providers: createProvidersRepo(deps),
    bots: createBotsRepo(deps),
    channels: createChannelsRepo(deps),
  }
}

/** The gateway's public base URL: `PUBLIC_URL` when configured, else derived from the request. */
export function publicUrlOf(deps: ApiDeps, request: FastifyRequest): string {
  return deps.publicUrl ?? `${request.protocol}://${request.host}`
}

/**
 * The `:id` path parameter, or 404 when it cannot be one of our ids (so odd bytes never reach SQL).
 * `noun` names the resource in the message ("provider").
 */
export function idParam(request: FastifyRequest, noun: string): string {
  const id = (request.params as { id?: unknown }).id
  if (typeof id !== 'string' || !looksLikeId(id)) throw notFound(noun, typeof id === 'string' ? id : '')
  return id
}

/** 404 for a resource id that does not exist or belongs to another team (the two look the same). */
export function notFound(noun: string, id: string, field?: string): Error {
  const shown = looksLikeId(id) ? ` ${id}` : ''
  return GW_ERR_API_NOT_FOUND(`No ${noun}${shown} exists in your team; check the id${field ? ` in "${field}"` : ''}.`, field ? { field } : {})
}
