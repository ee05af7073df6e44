/**
 * The admin API (SPEC §4) as one Fastify plugin: every route inside it passes the bearer-token hook
 * (auth.ts), takes JSON, and answers errors through the app's one error handler. Also the bootstrap of
 * team `default` and its first admin token.
 */
import type { FastifyPluginAsync } from 'fastify'
import { DEFAULT_TEAM_ID, createTeamsRepo } from '../store/repos/teams.js'
import { createTokensRepo, generateToken, hashToken } from '../store/repos/tokens.js'
import type { ApiDeps } from './api-deps.js'
import { createApiContext, type ApiRoutes } from './api-context.js'
import { createAuthHook } from './auth.js'
import { createAuthLimiter } from './auth-limiter.js'
import { enforceRoles } from './roles.js'
import { botRoutes } from './bots.js'
import { channelRoutes } from './channels.js'
import { providerRoutes } from './providers.js'
import { teamRoutes } from './teams.js'
import { tokenRoutes } from './tokens.js'
import { webhookRoutes } from './webhooks.js'

/** The route modules of the admin API, registered in this order behind the auth hook. */
const routeModules: ApiRoutes[] = [teamRoutes, tokenRoutes, providerRoutes, botRoutes, channelRoutes, webhookRoutes]

/** The name of the token stored from SWITCHBOARD_ADMIN_TOKEN (a changed value revokes the previous one). */
const CONFIGURED_TOKEN_NAME = 'SWITCHBOARD_ADMIN_TOKEN'

/** Fixed id of a generated bootstrap token: instances racing on one database insert it only once. */
const GENERATED_TOKEN_ID = 'tok_bootstrap'

/** Builds the admin API plugin. `extraRoutes` are registered behind the same auth hook. */
export function createApiModule(deps: ApiDeps, extraRoutes: readonly ApiRoutes[] = []): FastifyPluginAsync {
  const context = createApiContext(deps)
  const limiter = createAuthLimiter(deps.clock, deps.authLimits)
  return async (server) => {
    server.decorateRequest('caller', null)
    // Encapsulated in this plugin (no fastify-plugin), so webhooks and health checks stay open.
    server.addHook('onRequest', createAuthHook(context.tokens, limiter))
    // Before the body is read: a member's forbidden write costs no parsing (a broadcast CSV can be 50 MB).
    server.addHook('onRequest', enforceRoles)
    for (const routes of [...routeModules, ...extraRoutes]) routes(server, context)
  }
}

/**
 * Ensures team `default` and its bootstrap admin token exist; returns a newly generated token, if any.
 *
 * - With `SWITCHBOARD_ADMIN_TOKEN` (`configuredToken`), its hash is stored as an admin token of team
 *   `default` unless already known; nothing is generated.
 * - Without it, a token is generated only when team `default` has never had a token, and returned so
 *   the caller prints it once. A restart finds that token's row and returns undefined.
 */
export async function bootstrapAdmin(deps: ApiDeps, configuredToken: string | undefined): Promise<string | undefined> {
  const teams = createTeamsRepo(deps)
  const tokens = createTokensRepo(deps)
  await teams.ensureDefault()

  if (configuredToken !== undefined) {
    const tokenHash = hashToken(configuredToken)
    const known = await tokens.findByHash(tokenHash)
    if (!known) {
      // A concurrent instance inserting the same hash makes this a no-op, which is what we want.
      await tokens.insertHashed({ teamId: DEFAULT_TEAM_ID, name: CONFIGURED_TOKEN_NAME, role: 'admin', tokenHash })
      deps.logger.info({ teamId: DEFAULT_TEAM_ID }, 'api:bootstrap:token-stored')
    }
    if (!known || known.revokedAt === null) {
      // A changed SWITCHBOARD_ADMIN_TOKEN replaces the one it was: the old value (perhaps the leaked one
      // that made you change it) stops working now, not whenever someone remembers to revoke it.
      const revoked = await tokens.revokeNamedExcept(DEFAULT_TEAM_ID, CONFIGURED_TOKEN_NAME, tokenHash)
      if (revoked.length > 0) deps.logger.warn({ tokenIds: revoked }, 'api:bootstrap:previous-admin-token-revoked')
    } else if (known.revokedAt !== null) {
      // Revocation wins over configuration: a revoked (perhaps leaked) token must not come back on restart.
      deps.logger.warn(
        { tokenId: known.id },
        'api:bootstrap:token-revoked: SWITCHBOARD_ADMIN_TOKEN names a revoked token; set a new value to get a working admin token',
      )
    } else if (known.teamId !== DEFAULT_TEAM_ID || known.role !== 'admin') {
      deps.logger.warn(
        { tokenId: known.id, teamId: known.teamId, role: known.role },
        'api:bootstrap:token-not-admin: SWITCHBOARD_ADMIN_TOKEN names a token that is not an admin of team default',
      )
    }
    return undefined
  }

  if ((await tokens.countForTeam(DEFAULT_TEAM_ID)) > 0) return undefined
  const token = generateToken()
  const inserted = await tokens.insertHashed({
    id: GENERATED_TOKEN_ID,
    teamId: DEFAULT_TEAM_ID,
    name: 'bootstrap (generated)',
    role: 'admin',
    tokenHash: hashToken(token),
  })
  // Another instance won the race and printed its own token; ours was never stored.
  if (!inserted) return undefined
  deps.logger.info({ teamId: DEFAULT_TEAM_ID, tokenId: GENERATED_TOKEN_ID }, 'api:bootstrap:token-generated')
  return token
}

export type { ApiRoutes } from './api-context.js'
