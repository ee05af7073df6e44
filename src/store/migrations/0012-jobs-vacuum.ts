/**
 * PostgreSQL: the jobs table is a queue, every job inserted, updated and deleted within seconds, so its
 * dead rows pile up far faster than autovacuum's default trigger (20 % of the table) notices on a table
 * that stays small. The claim's index scans then wade through dead entries: the bench measured a claim
 * of 10 jobs at 1.7 ms with 119,000 dead rows behind it (on a server with autovacuum off). These
 * settings vacuum and analyze `jobs` after every few thousand changes instead. They take effect where
 * autovacuum runs (PostgreSQL's default); SQLite has no such thing and needs none (it reuses free pages).
 */
import { sql, SqliteAdapter, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return
  await sql`alter table jobs set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000, autovacuum_vacuum_cost_delay = 0)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return
  await sql`alter table jobs reset (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
    autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_delay)`.execute(db)
}
