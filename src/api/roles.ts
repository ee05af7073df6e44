/**
 * What a `member` token may change (SPEC §13). Members read everything of their team and run its
 * messaging day to day: send messages and broadcasts (and the media they carry), hand conversations over,
 * retry failed work, refresh templates and try a bot. Creating, changing or deleting providers, bots,
 * channels, event webhooks, teams and tokens (credentials, bot URLs, where events go) needs `admin`.
 *
 * One table, checked by one hook for every route, rather than a check in each handler: a route added
 * later is admin-only until it is named here, so forgetting fails closed.
 */
import type { FastifyRequest } from 'fastify'
import { GW_ERR_API_FORBIDDEN } from '../core/errors.js'
import { callerOf } from './auth.js'

/** The writes a member may make, as `METHOD /route/pattern` (Fastify's route URL). */
export const MEMBER_WRITES: ReadonlySet<string> = new Set([
  'POST /api/channels/:id/messages',
  'POST /api/conversations/:id/messages',
  'POST /api/conversations/:id/handover',
  'POST /api/channels/:id/broadcasts',
  'POST /api/broadcasts/:id/cancel',
  'POST /api/media',
  'POST /api/jobs/:id/retry',
  'POST /api/providers/:id/templates/sync',
  'POST /api/providers/:id/test',
  'POST /api/bots/:id/test',
])

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** What a forbidden write is about, for the message ("change bots"). */
function subjectOf(route: string): string {
  const resource = route.split('/')[2] ?? 'this resource'
  return resource === 'webhooks' ? 'event webhooks' : resource
}

/** onRequest hook (after authentication): a member's write to a route not in `MEMBER_WRITES` is 403 `forbidden`. */
export async function enforceRoles(request: FastifyRequest): Promise<void> {
  if (READS.has(request.method)) return
  const caller = callerOf(request)
  if (caller.role === 'admin') return
  const route = request.routeOptions.url ?? request.url
  if (MEMBER_WRITES.has(`${request.method} ${route}`)) return
  const verb = request.method === 'DELETE' ? 'delete' : request.method === 'POST' ? 'create or change' : 'change'
  throw GW_ERR_API_FORBIDDEN(
    `Only an admin token may ${verb} ${subjectOf(route)}; this is a member token, which reads, sends messages, hands conversations over and retries failed work. Ask an admin of your team.`,
  )
}
