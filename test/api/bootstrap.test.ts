/**
 * Bootstrap of team `default` and its admin token: generated once and shown once, or taken from
 * SWITCHBOARD_ADMIN_TOKEN; several instances starting at once on one database converge.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Agent } from 'undici'
import { bootstrapAdmin } from '../../src/api/index.js'
import type { ApiDeps } from '../../src/api/api-deps.js'
import { systemClock } from '../../src/core/clock.js'
import { createSecretBox } from '../../src/core/secret-box.js'
import { createLogger } from '../../src/logger.js'
import type { ProviderDeps } from '../../src/providers/provider.js'
import { createStore } from '../../src/store/db.js'
import { DIALECTS, createTestDatabase, skipReason } from '../helpers/dialects.js'
import { startTestGateway } from '../helpers/test-gateway.js'

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: bootstrap`, { skip }, () => {
    it('generates a token on the first start only, and it keeps working after a restart', async () => {
      const first = await startTestGateway({ dialect, env: { adminToken: undefined } })
      const { database } = first
      try {
        const token = first.gateway.generatedAdminToken
        assert.ok(token !== undefined, 'the first start generates a token')
        assert.match(token, /^sb_[A-Za-z0-9_-]{43}$/)
        assert.equal(first.adminToken, token)
        const teams = await first.request('GET', '/api/teams')
        assert.equal(teams.status, 200)
        assert.deepEqual(
          teams.body.data.map((t: { id: string; name: string }) => [t.id, t.name]),
          [['team_default', 'default']],
        )
        assert.equal((await first.request('POST', '/api/teams', { body: { name: 'acme' } })).status, 201)
        await first.close({ keepDatabase: true })

        const second = await startTestGateway({
          dialect,
          database,
          env: { adminToken: undefined, secretKeys: first.config.secretKeys },
        })
        try {
          assert.equal(second.gateway.generatedAdminToken, undefined, 'a restart prints nothing')
          assert.equal((await second.request('GET', '/api/teams', { token })).status, 200)
          const tokens = await second.request('GET', '/api/teams/team_default/tokens', { token })
          assert.equal(tokens.body.data.length, 1)
          assert.equal(tokens.body.data[0].role, 'admin')
        } finally {
          await second.close({ keepDatabase: true })
        }
      } finally {
        await database.drop()
      }
    })

    it('uses SWITCHBOARD_ADMIN_TOKEN when set, stores it once, and generates nothing', async () => {
      const configured = `configured-${randomBytes(16).toString('hex')}`
      const first = await startTestGateway({ dialect, env: { adminToken: configured } })
      const { database } = first
      try {
        assert.equal(first.gateway.generatedAdminToken, undefined)
        assert.equal((await first.request('GET', '/api/teams', { token: configured })).status, 200)
        await first.close({ keepDatabase: true })
        const second = await startTestGateway({ dialect, database, env: { adminToken: configured, secretKeys: first.config.secretKeys } })
        try {
          assert.equal(second.gateway.generatedAdminToken, undefined)
          const tokens = await second.request('GET', '/api/teams/team_default/tokens', { token: configured })
          assert.equal(tokens.status, 200)
          assert.equal(tokens.body.data.length, 1)
          assert.equal(tokens.text.includes(configured), false)
        } finally {
          await second.close({ keepDatabase: true })
        }
        // Without the variable, a team that already has a token gets no generated one.
        const third = await startTestGateway({ dialect, database, env: { adminToken: undefined, secretKeys: first.config.secretKeys } })
        try {
          assert.equal(third.gateway.generatedAdminToken, undefined)
        } finally {
          await third.close({ keepDatabase: true })
        }
      } finally {
        await database.drop()
      }
    })

    it('revokes the previous SWITCHBOARD_ADMIN_TOKEN when the variable changes, and keeps other tokens', async () => {
      const before = `configured-${randomBytes(16).toString('hex')}`
      const after = `configured-${randomBytes(16).toString('hex')}`
      const first = await startTestGateway({ dialect, env: { adminToken: before } })
      const { database } = first
      try {
        const spare = await first.request('POST', '/api/teams/team_default/tokens', { body: { name: 'spare', role: 'admin' } })
        assert.equal(spare.status, 201, spare.text)
        await first.close({ keepDatabase: true })
        const second = await startTestGateway({ dialect, database, env: { adminToken: after, secretKeys: first.config.secretKeys } })
        try {
          assert.equal((await second.request('GET', '/api/teams', { token: after })).status, 200)
          assert.equal((await second.request('GET', '/api/teams', { token: before })).status, 401, 'the replaced value must stop working')
          assert.equal((await second.request('GET', '/api/teams', { token: spare.body.token })).status, 200, 'other tokens stay')
          const list = await second.request('GET', '/api/teams/team_default/tokens', { token: after })
          const configured = list.body.data.filter((t: { name: string }) => t.name === 'SWITCHBOARD_ADMIN_TOKEN')
          assert.equal(configured.length, 2)
          assert.equal(configured.filter((t: { revoked_at: string | null }) => t.revoked_at === null).length, 1)
        } finally {
          await second.close({ keepDatabase: true })
        }
      } finally {
        await database.drop()
      }
    })

    it('does not bring a revoked SWITCHBOARD_ADMIN_TOKEN back on restart', async () => {
      const configured = `configured-${randomBytes(16).toString('hex')}`
      const first = await startTestGateway({ dialect, env: { adminToken: configured } })
      const { database } = first
      try {
        const spare = await first.request('POST', '/api/teams/team_default/tokens', { body: { name: 'spare', role: 'admin' } })
        const list = await first.request('GET', '/api/teams/team_default/tokens')
        const own = list.body.data.find((t: { name: string }) => t.name === 'SWITCHBOARD_ADMIN_TOKEN')
        assert.equal((await first.request('DELETE', `/api/tokens/${own.id}`, { token: spare.body.token })).status, 204)
        await first.close({ keepDatabase: true })
        const second = await startTestGateway({ dialect, database, env: { adminToken: configured, secretKeys: first.config.secretKeys } })
        try {
          assert.equal((await second.request('GET', '/api/teams', { token: configured })).status, 401)
          assert.equal((await second.request('GET', '/api/teams', { token: spare.body.token })).status, 200)
        } finally {
          await second.close({ keepDatabase: true })
        }
      } finally {
        await database.drop()
      }
    })

    it('several instances starting at once create one team and one token', async () => {
      const database = await createTestDatabase(dialect)
      const stores = [1, 2, 3, 4].map(() => createStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, poolSize: 2 }))
      try {
        await stores[0]!.migrate()
        const secretBox = createSecretBox([randomBytes(32)])
        const depsOf = (store: (typeof stores)[number]): ApiDeps => ({
          store,
          secretBox,
          clock: systemClock,
          logger: createLogger('silent'),
          teamDispatcher: new Agent(),
          allowPrivateUrls: true,
          publicUrl: undefined,
          providerDeps: {} as ProviderDeps,
        })
        const generated = await Promise.all(stores.map((store) => bootstrapAdmin(depsOf(store), undefined)))
        assert.equal(generated.filter((token) => token !== undefined).length, 1, 'exactly one instance prints a token')
        const db = stores[0]!.db
        const teams = await db.selectFrom('teams').select(['id', 'name']).execute()
        assert.deepEqual(teams, [{ id: 'team_default', name: 'default' }])
        const tokens = await db.selectFrom('api_tokens').select(['id', 'role']).execute()
        assert.deepEqual(tokens, [{ id: 'tok_bootstrap', role: 'admin' }])

        // The same race with a configured token stores it once.
        const configured = `configured-${randomBytes(16).toString('hex')}`
        await Promise.all(stores.map((store) => bootstrapAdmin(depsOf(store), configured)))
        const after = await db.selectFrom('api_tokens').select('id').execute()
        assert.equal(after.length, 2)
      } finally {
        for (const store of stores) await store.close()
        await database.drop()
      }
    })
  })
}
