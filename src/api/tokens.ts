/**
 * API tokens (SPEC §4): `POST /api/teams/{id}/tokens` shows the token once; `GET` lists records without
 * tokens or hashes; `DELETE /api/tokens/{id}` revokes. Admins only (see auth.ts).
 */
import { z } from 'zod'
import type { FastifyRequest } from 'fastify'
import type { ApiToken } from '../store/repos/tokens.js'
import { callerOf, canSeeTeam, requireAdmin } from './auth.js'
import { idParam, notFound, type ApiContext, type ApiRoutes } from './api-context.js'
import type { TokenDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { NAME_MAX, parseBody } from './validation.js'

export const createTokenSchema = z.strictObject({
  name: z.string().trim().min(1).max(NAME_MAX),
  role: z.enum(['admin', 'member']),
})

/** A token's record as the API shows it: never the token, never its hash. */
export function presentToken(token: ApiToken): TokenDto {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    team_id: token.teamId,
    created_at: token.createdAt,
    revoked_at: token.revokedAt,
  }
}

/** The team of `/api/teams/{id}/tokens`, checked for visibility (404) before role (403). */
async function tokenTeam(context: ApiContext, request: FastifyRequest, what: string): Promise<string> {
  const caller = callerOf(request)
  const teamId = idParam(request, 'team')
  if (!canSeeTeam(caller, teamId) || !(await context.teams.get(teamId))) throw notFound('team', teamId)
  requireAdmin(caller, what)
  return teamId
}

/** Registers the token routes. */
export const tokenRoutes: ApiRoutes = (server, context) => {
  server.post('/api/teams/:id/tokens', async (request, reply) => {
    const teamId = await tokenTeam(context, request, 'create tokens')
    const body = parseBody(createTokenSchema, request.body)
    const { record, token } = await context.tokens.create({ teamId, name: body.name, role: body.role })
    request.log.info({ teamId, tokenId: record.id, role: record.role }, 'api:token:created')
    return reply.code(201).send({ ...presentToken(record), token })
  })

  server.get('/api/teams/:id/tokens', async (request) => {
    const teamId = await tokenTeam(context, request, 'list tokens')
    const page = parsePageQuery(request.query)
    return toPage(await context.tokens.list(teamId, probe(page)), page, presentToken)
  })

  server.delete('/api/tokens/:id', async (request, reply) => {
    const caller = callerOf(request)
    const id = idParam(request, 'token')
    const token = await context.tokens.get(id)
    if (!token || !canSeeTeam(caller, token.teamId)) throw notFound('token', id)
    requireAdmin(caller, 'revoke tokens')
    await context.tokens.revoke(id)
    request.log.info({ teamId: token.teamId, tokenId: id }, 'api:token:revoked')
    return reply.code(204).send()
  })
}
