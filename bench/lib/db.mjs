/** The databases of a run: fresh PostgreSQL databases and SQLite folders, and the counts the runner checks. */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'

export const PG_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Whether PostgreSQL answers at PG_ADMIN_URL. */
export async function postgresAnswers() {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

function urlFor(name) {
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** A fresh PostgreSQL database; returns its URL, its name and a drop(). */
export async function createPgDatabase() {
  const name = `sb_bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  return {
    url: urlFor(name),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}

/** Drops `sb_bench_*` databases an interrupted run left behind (only the bench makes that prefix). */
export async function dropLeftoverDatabases() {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    const { rows } = await admin.query("select datname from pg_database where datname like 'sb\\_bench\\_%'")
    for (const { datname } of rows) await admin.query(`drop database if exists ${datname} with (force)`)
    return rows.map((r) => r.datname)
  } finally {
    await admin.end()
  }
}

const COUNTS_SQL = {
  inbound: "select count(*) as n from messages where direction = 'in'",
  inboundProcessed: "select count(*) as n from messages where direction = 'in' and status = 'processed'",
  outbound: "select count(*) as n from messages where direction = 'out'",
  outboundSent: "select count(*) as n from messages where direction = 'out' and status = 'sent'",
  jobsOpen: "select count(*) as n from jobs where state in ('pending', 'running')",
  jobsDead: "select count(*) as n from jobs where state = 'dead'",
  inboundImages: "select count(*) as n from messages where direction = 'in' and type = 'image'",
  media: 'select count(*) as n from media',
}

/** Read-only counting of a gateway's database while it runs (SQLite WAL readers do not block the writer). */
export function openCounter(dialect, { dataDir, url }) {
  if (dialect === 'sqlite') {
    let db
    const open = () => (db ??= new Database(join(dataDir, 'switchboard.db'), { readonly: true, fileMustExist: true }))
    return {
      async count(which) {
        return Number(open().prepare(COUNTS_SQL[which]).get().n)
      },
      async all() {
        const out = {}
        for (const key of Object.keys(COUNTS_SQL)) out[key] = Number(open().prepare(COUNTS_SQL[key]).get().n)
        return out
      },
      async close() {
        db?.close()
      },
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  return {
    async count(which) {
      return Number((await pool.query(COUNTS_SQL[which])).rows[0].n)
    },
    async all() {
      const out = {}
      for (const key of Object.keys(COUNTS_SQL)) out[key] = Number((await pool.query(COUNTS_SQL[key])).rows[0].n)
      return out
    },
    async close() {
      await pool.end()
    },
  }
}
