/**
 * Key rotation (SPEC §13, `npm run rekey`): every stored secret not sealed with the current key (the
 * first of SWITCHBOARD_SECRET_KEYS, or the key file) is decrypted with the key it names and sealed again
 * with the current one, so older keys can then be removed. Each value is replaced only if it is still the
 * one read (compare-and-set), so a change made meanwhile through the API is never overwritten.
 */
import type { Kysely } from 'kysely'
import { sealedKeyId, type SecretBox } from '../../core/secret-box.js'
import type { Database } from '../schema.js'

/** The encrypted columns, by table. */
const SEALED = [
  { table: 'providers', column: 'config_ciphertext', label: 'providers' },
  { table: 'bots', column: 'config_ciphertext', label: 'bots' },
  { table: 'event_webhooks', column: 'secret_ciphertext', label: 'event webhooks' },
] as const

export interface RekeyCount {
  label: string
  /** Sealed again with the current key. */
  rekeyed: number
  /** Already sealed with the current key. */
  current: number
  /** Could not be decrypted (their key is not configured): id and the key id they name. */
  failed: Array<{ id: string; keyId: string | undefined; reason: string }>
}

export async function rekeySecrets(db: Kysely<Database>, box: SecretBox): Promise<RekeyCount[]> {
  const counts: RekeyCount[] = []
  for (const { table, column, label } of SEALED) {
    const count: RekeyCount = { label, rekeyed: 0, current: 0, failed: [] }
    // Dynamic table and column names from the fixed list above; Kysely's types cannot follow them.
    const untyped = db as unknown as Kysely<Record<string, { id: string; [key: string]: string | null }>>
    const rows = await untyped.selectFrom(table).select(['id', column]).execute()
    for (const row of rows) {
      const sealed = row[column] as string | null
      if (sealed === null) continue
      if (sealedKeyId(sealed) === box.currentKeyId) {
        count.current += 1
        continue
      }
      let plain: string
      try {
        plain = box.decrypt(sealed)
      } catch (error) {
        count.failed.push({ id: row.id as string, keyId: sealedKeyId(sealed), reason: error instanceof Error ? error.message : String(error) })
        continue
      }
      const result = await untyped
        .updateTable(table)
        .set({ [column]: box.encrypt(plain) })
        .where('id', '=', row.id as string)
        .where(column, '=', sealed)
        .executeTakeFirst()
      // Changed meanwhile: the API sealed it anew with the current key already.
      if (Number(result.numUpdatedRows) > 0) count.rekeyed += 1
      else count.current += 1
    }
    counts.push(count)
  }
  return counts
}
