/**
 * Who may call what. The rules, tested in test/api/teams-tokens.test.ts:
 *
 * - Every /api route needs `Authorization: Bearer <token>` with an active token; missing, unknown or
 *   revoked → 401 `unauthenticated`.
 * - A token sees its own team only. Another team's id answers 404 exactly like an id that does not
 *   exist (never 403), so ids leak nothing across teams.
 * - Admins and members alike read everything of their team. Members may change only what running its
 *   messaging day to day needs (send, hand over, retry failed work: roles.ts); creating, changing or
 *   deleting providers, bots, channels, event webhooks, teams and tokens is for admins (403 `forbidden`).
 * - Only admins list, create and revoke tokens (members get 403 `forbidden`), because a token grants
 *   access and a member must not be able to mint an admin.
 * - An admin of team `default` is the operator: it alone creates teams (anyone else gets 403), lists
 *   and reads every team, and lists, creates and revokes tokens of any team (that is how a new team
 *   gets its first token). It still sees only team `default`'s providers, bots and channels (SPEC §3).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { GW_ERR_API_FORBIDDEN, GW_ERR_API_TOO_MANY_FAILURES, GW_ERR_API_UNAUTHENTICATED } from '../core/errors.js'
import type { AuthLimiter } from './auth-limiter.js'
import { DEFAULT_TEAM_ID } from '../store/repos/teams.js'
import { hashToken, type TokenRole, type TokensRepo } from '../store/repos/tokens.js'

/** The authenticated caller of a request. */
export interface Caller {
  tokenId: string
  teamId: string
  role: TokenRole
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin API's auth hook; null outside /api routes. */
    caller: Caller | null
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/** The onRequest hook of every /api route: resolves the bearer token to a caller, or answers 401. */
export function createAuthHook(tokens: TokensRepo, limiter: AuthLimiter): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const waitSeconds = limiter.blockedFor(request.ip)
    if (waitSeconds > 0) {
      reply.header('retry-after', String(waitSeconds))
      throw GW_ERR_API_TOO_MANY_FAILURES(
        `Too many requests from this address failed authentication; try again in ${waitSeconds} s with a valid API token.`,
      )
    }
    const refuse = (error: Error): never => {
      limiter.failed(request.ip)
      throw error
    }
    const header = request.headers.authorization
    if (header === undefined || header === '') {
      refuse(GW_ERR_API_UNAUTHENTICATED('Send an API token as "Authorization: Bearer <token>"; this request has none.'))
    }
    const match = BEARER.exec(header!)
    if (!match) {
      refuse(GW_ERR_API_UNAUTHENTICATED('The Authorization header must read "Bearer <token>".'))
    }
    // Looked up by hash: the token itself is never stored, and the hash reveals nothing through timing.
    const token = await tokens.findByHash(hashToken(match![1]!))
    if (!token || token.revokedAt !== null) {
      refuse(GW_ERR_API_UNAUTHENTICATED('This API token is unknown or was revoked; ask an admin of your team for a valid one.'))
    }
    request.caller = { tokenId: token!.id, teamId: token!.teamId, role: token!.role }
  }
}

/** The request's caller; the auth hook guarantees one on every /api route. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === null) throw GW_ERR_API_UNAUTHENTICATED()
  return request.caller
}

/** Whether the caller is an admin of team `default` (the operator). */
export function isOperator(caller: Caller): boolean {
  return caller.teamId === DEFAULT_TEAM_ID && caller.role === 'admin'
}

/** Whether the caller may see the team itself and its tokens (own team, or the operator). */
export function canSeeTeam(caller: Caller, teamId: string): boolean {
  return caller.teamId === teamId || isOperator(caller)
}

/** Throws 403 unless the caller is an admin. */
export function requireAdmin(caller: Caller, what: string): void {
  if (caller.role !== 'admin') throw GW_ERR_API_FORBIDDEN(`Only an admin token may ${what}; this token is a member token.`)
}

/** Throws 403 unless the caller is the operator. */
export function requireOperator(caller: Caller, what: string): void {
  if (!isOperator(caller)) throw GW_ERR_API_FORBIDDEN(`Only an admin token of team "default" may ${what}.`)
}
