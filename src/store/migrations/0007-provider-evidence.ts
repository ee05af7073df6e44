/**
 * Evidence of a provider's health (what the gateway last saw work, not only what went wrong):
 * - `last_webhook_at`: when a signed webhook for it last arrived and verified;
 * - `last_send_ok_at`: when a send through it last succeeded;
 * - `last_check_status` (`ok` | `refused` | `unreachable`), `last_check_message`, `last_check_at`: the
 *   last credential check (at creation, or `POST /api/providers/{id}/test`).
 * The first two are written from memory at most once a minute per provider (routing/provider-evidence-reporter.ts),
 * so the hot path never pays for them.
 */
import type { Kysely } from 'kysely'

const COLUMNS = ['last_webhook_at', 'last_send_ok_at', 'last_check_status', 'last_check_message', 'last_check_at'] as const

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of COLUMNS) await db.schema.alterTable('providers').addColumn(column, 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [...COLUMNS].reverse()) await db.schema.alterTable('providers').dropColumn(column).execute()
}
