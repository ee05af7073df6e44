/**
 * Webhook signature failures as evidence of a provider's health (SPEC §13: health cannot be forged):
 * `signature_failures` is JSON `{count, last_at, last_source, sources: [{address, count, last_at}]}`
 * (the requests' addresses, the most recent few), or null before any. Anyone who knows a channel's number
 * can post a webhook that fails its signature, so failures are recorded here, beside what worked
 * (`last_webhook_at`), and set the health status only while no signed webhook verified recently.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('providers').addColumn('signature_failures', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('providers').dropColumn('signature_failures').execute()
}
