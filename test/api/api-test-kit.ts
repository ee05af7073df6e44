/**
 * Shared setup of the admin API suites: teams with admin and member tokens, sample provider configs
 * with distinctive secrets, and direct repo access to prove what is stored (decrypted).
 */
import assert from 'node:assert/strict'
import { systemClock } from '../../src/core/clock.js'
import { createSecretBox } from '../../src/core/secret-box.js'
import { createBotsRepo } from '../../src/store/repos/bots.js'
import { createProvidersRepo } from '../../src/store/repos/providers.js'
import type { TestGateway } from '../helpers/test-gateway.js'

/** A team with one admin and one member token. */
export interface TestTeam {
  id: string
  admin: string
  member: string
}

/** Creates a team (as the operator) with an admin and a member token. */
export async function createTeam(gw: TestGateway, name: string): Promise<TestTeam> {
  const team = await gw.request('POST', '/api/teams', { body: { name } })
  assert.equal(team.status, 201, team.text)
  const admin = await gw.request('POST', `/api/teams/${team.body.id}/tokens`, { body: { name: 'admin', role: 'admin' } })
  assert.equal(admin.status, 201, admin.text)
  const member = await gw.request('POST', `/api/teams/${team.body.id}/tokens`, { body: { name: 'member', role: 'member' } })
  assert.equal(member.status, 201, member.text)
  return { id: team.body.id, admin: admin.body.token, member: member.body.token }
}

/** A valid Meta config; every secret is distinctive, so a test can grep for it. */
export function metaConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    business_id: '104857600321987',
    access_token: 'EAABmetaACCESStoken0123456789Zq',
    app_secret: 'metaAPPsecret0123456789abcdef',
    verify_token: 'metaVERIFYtoken-0123456789',
    ...overrides,
  }
}

/** A valid Twilio config. */
export function twilioConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { account_sid: `AC${'0123456789abcdef'.repeat(2)}`, auth_token: 'twilioAUTHtoken0123456789abcdef', ...overrides }
}

/** A valid Turn.io config. */
export function turnConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { auth_token: 'turnAUTHtoken0123456789abcdef', hmac_secret: 'turnHMACsecret0123456789abcdef', ...overrides }
}

/** Creates a provider and returns its id. */
export async function createProvider(
  gw: TestGateway,
  type: string,
  config: Record<string, unknown>,
  token?: string,
): Promise<string> {
  const res = await gw.request('POST', '/api/providers', { token, body: { type, name: `${type} account`, config } })
  assert.equal(res.status, 201, res.text)
  return res.body.id
}

/** Creates an echo bot and returns its id. */
export async function createEchoBot(gw: TestGateway, token?: string): Promise<string> {
  const res = await gw.request('POST', '/api/bots', { token, body: { name: 'Echo', type: 'echo' } })
  assert.equal(res.status, 201, res.text)
  return res.body.id
}

/** Repos on the gateway's own store and keys, to read what is really stored. */
export function storedRepos(gw: TestGateway) {
  const secretBox = createSecretBox(gw.config.secretKeys ?? [])
  const deps = { store: gw.gateway.store, secretBox, clock: systemClock }
  return { providers: createProvidersRepo(deps), bots: createBotsRepo(deps) }
}
