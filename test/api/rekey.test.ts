/**
 * Key rotation (SPEC §13): with a new key first and the old one kept, `npm run rekey` (its entry point,
 * run as a process with the gateway's configuration) seals every stored secret with the new key; after
 * the old key is removed and the gateway restarted, providers, bots and event webhooks still decrypt.
 * Before the rekey, removing the old key answers a clear error naming the provider and the key id.
 */
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { keyIdOf } from '../../src/core/secret-box.js'
import { createTestDatabase, DIALECTS, skipReason, type TestDatabase } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createEchoBot, createProvider, turnConfig } from './api-test-kit.js'

/** Runs `npm run rekey`'s entry point against the database with these keys; its output and exit code. */
function runRekey(database: TestDatabase, keys: Buffer[]): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATA_DIR: database.dataDir,
    SWITCHBOARD_SECRET_KEYS: keys.map((key) => key.toString('base64')).join(','),
    LOG_LEVEL: 'silent',
  }
  if (database.databaseUrl !== undefined) env.DATABASE_URL = database.databaseUrl
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/rekey.ts'], { env, encoding: 'utf8', timeout: 60_000 })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: key rotation`, { skip }, () => {
    const oldKey = randomBytes(32)
    const newKey = randomBytes(32)
    const adminToken = `sb_test_${randomBytes(24).toString('base64url')}`
    let database: TestDatabase
    let gw: TestGateway | undefined
    after(async () => {
      await gw?.close({ keepDatabase: true })
      await database?.drop()
    })

    const start = async (keys: Buffer[]) => {
      gw = await startTestGateway({ dialect, database, env: { secretKeys: keys, adminToken } })
      return gw
    }

    it('re-encrypts every secret with the current key, so the old key can go', async () => {
      database = await createTestDatabase(dialect)
      let current = await start([oldKey])
      const provider = await createProvider(current, 'turnio', turnConfig())
      const bot = await current.request('POST', '/api/bots', { body: { name: 'Remote', type: 'http', config: { url: 'https://bot.example/hook', secret: 'botSECRETvalue0123456789' } } })
      assert.equal(bot.status, 201, bot.text)
      const echo = await createEchoBot(current)
      const webhook = await current.request('POST', '/api/webhooks', { body: { url: 'https://crm.example/events', events: ['message.received'], secret: 'whsec_given_secret_0123456789' } })
      assert.equal(webhook.status, 201, webhook.text)
      await current.close({ keepDatabase: true })

      // The old key removed too early: a clear error naming the provider and the key, not a bare 500.
      current = await start([newKey])
      const broken = await current.request('GET', '/api/providers')
      assert.equal(broken.body.error.code, 'secret_key_missing', broken.text)
      assert.match(broken.body.error.message, new RegExp(`Provider ${provider}`))
      assert.match(broken.body.error.message, new RegExp(keyIdOf(oldKey)))
      assert.match(broken.body.error.message, /npm run rekey/)
      await current.close({ keepDatabase: true })

      // New key first, old key kept: rekey seals everything with the new one.
      const first = runRekey(database, [newKey, oldKey])
      assert.equal(first.status, 0, first.output)
      assert.match(first.output, /providers: 1 re-encrypted, 0 already current, 0 failed/)
      assert.match(first.output, /bots: 1 re-encrypted, 1 already current, 0 failed|bots: 1 re-encrypted, 0 already current, 0 failed/)
      assert.match(first.output, /event webhooks: 1 re-encrypted, 0 already current, 0 failed/)
      const again = runRekey(database, [newKey, oldKey])
      assert.equal(again.status, 0, again.output)
      assert.match(again.output, /providers: 0 re-encrypted, 1 already current/)

      // The old key gone, a restart: every secret still decrypts.
      current = await start([newKey])
      const providers = await current.request('GET', '/api/providers')
      assert.equal(providers.status, 200, providers.text)
      assert.equal(providers.body.data[0].config.auth_token, 'turn…ef')
      const bots = await current.request('GET', '/api/bots')
      assert.equal(bots.status, 200, bots.text)
      assert.deepEqual(bots.body.data.map((b: { id: string }) => b.id).sort(), [bot.body.id, echo].sort())
      const hooks = await current.request('GET', `/api/webhooks/${webhook.body.id}`)
      assert.equal(hooks.status, 200, hooks.text)
      assert.equal(hooks.body.secret, 'whse…89')
    })

    it('names what it could not re-encrypt and exits non-zero when a key is missing', async () => {
      const result = runRekey(database, [randomBytes(32)])
      assert.equal(result.status, 1, result.output)
      assert.match(result.output, new RegExp(`key ${keyIdOf(newKey)} is not configured`))
    })
  })
}
