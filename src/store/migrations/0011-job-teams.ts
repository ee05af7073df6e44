/**
 * Fairness between teams (SPEC §13): every job records the team whose work it is, and the ready index
 * leads with it, so a claim can find the teams with due work (a skip scan over `(queue, state, team_id)`)
 * and take each team's oldest jobs in `run_at` order straight off the index. Jobs queued before this
 * migration, and jobs of no team, have `''`: they take their turns as one more team.
 *
 * The index replaces `(queue, state, run_at)`: its `(queue, state)` prefix still serves the claim's scan
 * of expired leases, and one index fewer on the hottest table is fewer pages written per job.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('team_id', 'text', (col) => col.notNull().defaultTo('')).execute()
  await db.schema.dropIndex('jobs_ready_idx').execute()
  await db.schema.createIndex('jobs_ready_idx').on('jobs').columns(['queue', 'state', 'team_id', 'run_at']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_ready_idx').execute()
  await db.schema.createIndex('jobs_ready_idx').on('jobs').columns(['queue', 'state', 'run_at']).execute()
  await db.schema.alterTable('jobs').dropColumn('team_id').execute()
}
