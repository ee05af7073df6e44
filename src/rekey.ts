/**
 * `npm run rekey`: re-encrypts every stored secret with the current key (the first of
 * SWITCHBOARD_SECRET_KEYS, or the key file), printing counts, so older keys can then be removed
 * (SPEC §13). Run it with the same configuration as the gateway; it is safe while gateways run.
 */
import { ConfigError, loadConfig } from './config.js'
import { createSecretBox, keyIdOf } from './core/secret-box.js'
import { loadOrCreateKeyFile } from './key-file.js'
import { createStore } from './store/db.js'
import { rekeySecrets } from './store/repos/rekey.js'

async function main(): Promise<number> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard rekey: configuration error: ${error.message}\n`)
      return 78
    }
    throw error
  }
  const keys = config.secretKeys ?? [loadOrCreateKeyFile(config.dataDir).key]
  const box = createSecretBox(keys)
  const store = createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 })
  try {
    await store.migrate()
    const counts = await rekeySecrets(store.db, box)
    process.stdout.write(`Current key: ${box.currentKeyId}; configured keys: ${keys.map(keyIdOf).join(', ')}\n`)
    for (const count of counts) {
      process.stdout.write(`${count.label}: ${count.rekeyed} re-encrypted, ${count.current} already current, ${count.failed.length} failed\n`)
      for (const failure of count.failed) {
        process.stdout.write(`  ${failure.id}: key ${failure.keyId ?? '?'} is not configured (${failure.reason}); add it back and run again\n`)
      }
    }
    const failed = counts.reduce((sum, count) => sum + count.failed.length, 0)
    process.stdout.write(failed === 0 ? 'Done: every secret is sealed with the current key; older keys can be removed.\n' : `${failed} secrets could not be re-encrypted; keep their keys.\n`)
    return failed === 0 ? 0 : 1
  } finally {
    await store.close()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`switchboard rekey failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
