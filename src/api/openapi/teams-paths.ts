/** Teams and their API tokens in the reference (api/teams.ts, api/tokens.ts). */
import { createTeamSchema } from '../teams.js'
import { createTokenSchema } from '../tokens.js'
import { IDS, pageOf, teamExample, tokenExample } from './examples.js'
import { idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Teams and tokens'
const teamId = idParams('team', IDS.team)

export const teamDocs: DocumentedGroup = {
  operations: [
    {
      method: 'post',
      path: '/api/teams',
      tag: TAG,
      summary: 'Create a team',
      description: 'Only the operator (an admin token of team `default`) creates teams; give the new team its first token with `POST /api/teams/{id}/tokens`.',
      body: { schema: createTeamSchema, examples: { team: { summary: 'A team', value: { name: 'Support' } } } },
      success: { status: 201, description: 'The team.', example: teamExample },
      errors: [400, 403, 409, 422],
    },
    {
      method: 'get',
      path: '/api/teams',
      tag: TAG,
      summary: 'List teams',
      description: 'The operator sees every team; any other token sees its own.',
      query: pageQuery,
      success: { status: 200, description: 'A page of teams.', example: pageOf(teamExample) },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/teams/{id}',
      tag: TAG,
      summary: 'Get a team',
      params: teamId,
      success: { status: 200, description: 'The team.', example: teamExample },
      errors: [404],
    },
    {
      method: 'post',
      path: '/api/teams/{id}/tokens',
      tag: TAG,
      summary: 'Create an API token',
      description: 'The answer is the only time the token is shown: only its hash is stored. `admin` tokens also manage tokens and change providers, bots, channels and event webhooks; `member` tokens read and run the messaging.',
      params: teamId,
      body: {
        schema: createTokenSchema,
        examples: {
          member: { summary: 'A member token for an integration', value: { name: 'CRM integration', role: 'member' } },
          admin: { summary: 'An admin token', value: { name: 'Ops laptop', role: 'admin' } },
        },
      },
      success: { status: 201, description: 'The token\'s record, with `token` in full (once).', example: { ...tokenExample, token: 'sb_5pQ0o1CwXhYl2n8KqR3tV7zA9bD4eF6gH1jK2mN3pQ4' } },
      errors: [400, 403, 404, 422],
    },
    {
      method: 'get',
      path: '/api/teams/{id}/tokens',
      tag: TAG,
      summary: "List a team's tokens",
      description: 'Records only: never a token or its hash. Admins only.',
      params: teamId,
      query: pageQuery,
      success: { status: 200, description: 'A page of token records.', example: pageOf(tokenExample) },
      errors: [400, 403, 404, 422],
    },
    {
      method: 'delete',
      path: '/api/tokens/{id}',
      tag: TAG,
      summary: 'Revoke a token',
      description: 'Requests with it answer 401 from now on.',
      params: idParams('token', IDS.token),
      success: { status: 204, description: 'Revoked.' },
      errors: [403, 404],
    },
  ],
}
