/**
 * PostgreSQL: room on each page of `messages` for the updates every message gets (processed, the send's
 * mark, delivery statuses), so they stay on the row's page and add no index entries (HOT updates). A
 * full page sends each update to another page, with a new entry in each of the table's four indexes.
 * The bench measured, end to end: HOT updates 34 % → 54 %, WAL 11.0 → 10.0 KB a message, the send's
 * mark 736 → 342 B of WAL. New pages only; SQLite updates rows in place and has no such setting.
 */
import { sql, SqliteAdapter, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return
  await sql`alter table messages set (fillfactor = 75)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return
  await sql`alter table messages reset (fillfactor)`.execute(db)
}
