/**
 * The generated secret key for single-instance SQLite setups: created once in `$DATA_DIR/secret.key`
 * (mode 0600) when `SWITCHBOARD_SECRET_KEYS` is unset, so `npm start` needs no setup. Losing the file
 * means losing the stored provider credentials, which README says.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const KEY_FILE_NAME = 'secret.key'

export function loadOrCreateKeyFile(dataDir: string): { key: Buffer; created: boolean } {
  const path = join(dataDir, KEY_FILE_NAME)
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (key.length !== 32) throw new Error(`${path} does not hold a base64 32-byte key; restore it from a backup`)
    return { key, created: false }
  }
  mkdirSync(dataDir, { recursive: true })
  const key = randomBytes(32)
  // 'wx' fails if another process created the file meanwhile, instead of overwriting its key.
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  return { key, created: true }
}
