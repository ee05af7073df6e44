/**
 * The queue's lane index: `(lane, state, id)` instead of `(lane, id)`. The claim asks two questions of a
 * candidate's lane, "is a smaller id still pending or running?" and "is a job of this lane running?", and
 * with `state` in the key both are index seeks that never visit dead rows, however many a lane collects.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_lane_state_idx').on('jobs').columns(['lane', 'state', 'id']).execute()
  // Its prefix `lane` is all the old index offered; keeping both would only slow every write.
  await db.schema.dropIndex('jobs_lane_idx').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_lane_idx').on('jobs').columns(['lane', 'id']).execute()
  await db.schema.dropIndex('jobs_lane_state_idx').execute()
}
