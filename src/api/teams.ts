/**
 * Teams (SPEC §4): `POST /api/teams` (operator only), `GET /api/teams` (the operator sees every team,
 * others their own), `GET /api/teams/{id}`.
 */
import { z } from 'zod'
import { GW_ERR_API_CONFLICT } from '../core/errors.js'
import type { Team } from '../store/repos/teams.js'
import { callerOf, canSeeTeam, isOperator, requireOperator } from './auth.js'
import { idParam, notFound, type ApiRoutes } from './api-context.js'
import type { TeamDto } from './dto.js'
import { parsePageQuery, probe, toPage } from './pagination.js'
import { NAME_MAX, parseBody } from './validation.js'

export const createTeamSchema = z.strictObject({
  name: z.string().trim().min(1).max(NAME_MAX),
})

/** A team as the API shows it. */
export function presentTeam(team: Team): TeamDto {
  return { id: team.id, name: team.name, created_at: team.createdAt }
}

/** Registers the team routes. */
export const teamRoutes: ApiRoutes = (server, context) => {
  server.post('/api/teams', async (request, reply) => {
    const caller = callerOf(request)
    requireOperator(caller, 'create teams')
    const body = parseBody(createTeamSchema, request.body)
    const team = await context.teams.create(body.name)
    if (team === 'name_taken') {
      throw GW_ERR_API_CONFLICT(`A team named "${body.name}" already exists; choose another name.`, { field: 'name' })
    }
    request.log.info({ teamId: team.id }, 'api:team:created')
    return reply.code(201).send(presentTeam(team))
  })

  server.get('/api/teams', async (request) => {
    const caller = callerOf(request)
    const page = parsePageQuery(request.query)
    if (isOperator(caller)) return toPage(await context.teams.list(probe(page)), page, presentTeam)
    const own = await context.teams.get(caller.teamId)
    const rows = own && (page.afterId === undefined || own.id > page.afterId) ? [own] : []
    return toPage(rows, page, presentTeam)
  })

  server.get('/api/teams/:id', async (request) => {
    const caller = callerOf(request)
    const id = idParam(request, 'team')
    const team = canSeeTeam(caller, id) ? await context.teams.get(id) : undefined
    if (!team) throw notFound('team', id)
    return presentTeam(team)
  })
}
