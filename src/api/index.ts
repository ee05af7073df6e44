/**
 * The admin API (SPEC §4) as one Fastify plugin. Filled in by the admin API work.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { ApiDeps } from './api-deps.js'

export function createApiModule(_deps: ApiDeps): FastifyPluginAsync {
  return async () => {}
}

/** Ensures team `default` and its bootstrap admin token exist; returns a newly generated token, if any. */
export async function bootstrapAdmin(_deps: ApiDeps, _configuredToken: string | undefined): Promise<string | undefined> {
  return undefined
}
