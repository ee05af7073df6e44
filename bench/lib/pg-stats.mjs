/**
 * What PostgreSQL itself spends on the gateway's messages (issue 17, measurement only): for one window of
 * an end-to-end run (the measured flood and its drain), per message,
 *   - statements from pg_stat_statements, this database only (calls, mean time, rows, WAL), the top ones by
 *     calls a message; top-level calls, BEGIN and COMMIT included (`track_utility` is on by default), are
 *     an upper bound of the gateway's round trips: the `pg` driver sends one statement per round trip,
 *     except a simple query of several statements (the claim's `begin; select … lock`), each of which
 *     pg_stat_statements counts;
 *   - the server's CPU: utime + stime of every postgres process (`postgres:` processes and the postmaster,
 *     whose cutime + cstime hold the backends that exited meanwhile), and of this database's backends
 *     alone (their pids from pg_stat_activity, sampled), which other databases' work cannot reach;
 *   - WAL: pg_stat_wal's deltas (bytes, records, full-page images, writes, fsyncs; the whole cluster) and
 *     the WAL pg_stat_statements puts on this database's statements;
 *   - transactions and row changes from pg_stat_database;
 *   - what this database's backends were doing (pg_stat_activity sampled every 200 ms: on CPU, waiting on
 *     the claim's advisory lock, on WAL, on the client), the bottleneck's evidence.
 * Every query of the meter runs on the admin database except the pg_stat_statements view, which lives in
 * the bench's database (the extension is created there); the meter's own statements and the bench's
 * counting queries are left out of the figures.
 *
 * pg_stat_statements needs `shared_preload_libraries`: `enablePgStatStatements` sets it with ALTER SYSTEM
 * and restarts the local cluster (`pg_ctlcluster`) when, and only when, it is not loaded yet.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { PG_ADMIN_URL, postgresAnswers } from './db.mjs'

const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)
const CLOCK_TICKS = 100

async function withAdmin(work) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Makes sure pg_stat_statements is loaded. Returns { loaded, restarted, note }. Restarts the cluster only
 * when the library is missing from shared_preload_libraries, PostgreSQL is on this machine and
 * `pg_ctlcluster` can restart it; otherwise says why not (the statement figures are then left out).
 */
export async function enablePgStatStatements(say) {
  const state = await withAdmin(async (client) => {
    const libraries = (await client.query('show shared_preload_libraries')).rows[0].shared_preload_libraries
    const cluster = (await client.query('show cluster_name')).rows[0].cluster_name
    const others = Number((await client.query('select count(*) as n from pg_stat_activity where backend_type = $1 and pid <> pg_backend_pid()', ['client backend'])).rows[0].n)
    return { libraries, cluster, others }
  })
  const loaded = (libs) => libs.split(',').map((s) => s.trim().replace(/^"|"$/g, '')).includes('pg_stat_statements')
  if (loaded(state.libraries)) return { loaded: true, restarted: false, note: 'pg_stat_statements was already loaded' }
  const host = new URL(PG_ADMIN_URL).hostname
  const match = /^(\d+)\/(.+)$/.exec(state.cluster ?? '')
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host) || !match) {
    return { loaded: false, restarted: false, note: `pg_stat_statements is not loaded and PostgreSQL at ${host} (cluster "${state.cluster}") is not a local Debian cluster the bench can restart: statement figures left out` }
  }
  const wanted = state.libraries.trim() === '' ? 'pg_stat_statements' : `${state.libraries}, pg_stat_statements`
  say(`  pg_stat_statements is not in shared_preload_libraries ("${state.libraries}"): ALTER SYSTEM SET shared_preload_libraries = '${wanted}' and pg_ctlcluster ${match[1]} ${match[2]} restart (${state.others} other client connection(s) open; they are cut)`)
  await withAdmin((client) => client.query(`alter system set shared_preload_libraries = '${wanted.replace(/'/g, "''")}'`))
  const restart = spawnSync('pg_ctlcluster', [match[1], match[2], 'restart'], { encoding: 'utf8', timeout: 120_000 })
  if (restart.status !== 0) {
    return { loaded: false, restarted: false, note: `pg_ctlcluster ${match[1]} ${match[2]} restart failed (${(restart.stderr || restart.error?.message || '').trim().slice(0, 300)}): statement figures left out` }
  }
  const deadline = Date.now() + 60_000
  for (;;) {
    const ready = spawnSync('pg_isready', ['-h', host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, ''), '-p', new URL(PG_ADMIN_URL).port || '5432'], { encoding: 'utf8' })
    if (ready.status === 0 && (await postgresAnswers())) break
    if (Date.now() > deadline) throw new Error('PostgreSQL did not come back within 60 s of its restart')
    await sleep(250)
  }
  const now = await withAdmin(async (client) => (await client.query('show shared_preload_libraries')).rows[0].shared_preload_libraries)
  say(`  restarted PostgreSQL: shared_preload_libraries = '${now}'`)
  return { loaded: loaded(now), restarted: true, note: `the bench enabled pg_stat_statements (shared_preload_libraries was "${state.libraries}") and restarted cluster ${state.cluster}` }
}

/** CPU seconds of one /proc/<pid>/stat: [utime + stime, cutime + cstime]. */
function procCpu(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return [(Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS]
  } catch {
    return null
  }
}

/** The postmaster's pid (first line of postmaster.pid in the data directory), or null. */
function postmasterPid(dataDirectory) {
  try {
    return Number(readFileSync(`${dataDirectory}/postmaster.pid`, 'utf8').split('\n')[0])
  } catch {
    return null
  }
}

/**
 * CPU seconds of the whole server so far: every live process whose command line starts with `postgres:`
 * plus the postmaster (its own and its reaped children's, so a backend that exits keeps counting).
 */
function serverCpuSeconds(postmaster) {
  let total = 0
  let processes = 0
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    let cmdline
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1')
    } catch {
      continue
    }
    const isPostmaster = pid === postmaster
    if (!isPostmaster && !cmdline.startsWith('postgres:')) continue
    const cpu = procCpu(pid)
    if (cpu === null) continue
    total += cpu[0] + (isPostmaster ? cpu[1] : 0)
    processes++
  }
  return { seconds: total, processes }
}

const WAL_SQL = 'select wal_records, wal_fpi, wal_bytes, wal_buffers_full, wal_write, wal_sync, pg_current_wal_lsn() as lsn from pg_stat_wal'
const DB_SQL = `select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched, tup_returned, blks_read, blks_hit
  from pg_stat_database where datname = $1`
const ACTIVITY_SQL = `select pid, state, wait_event_type, wait_event, datname = $1 as ours from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`
/** The claims' advisory locks of this database (src/store/dialects/postgres-jobs.ts): held, and waited for. */
const ADVISORY_SQL = `select count(*) filter (where granted) as held, count(*) filter (where not granted) as waiting from pg_locks
  where locktype = 'advisory' and database = $1 and classid = ${0x53774264} and objid in (1, 2) and objsubid = 2`
const CHECKPOINTS_SQL = 'select checkpoints_timed + checkpoints_req as checkpoints, buffers_checkpoint, buffers_backend from pg_stat_bgwriter'
/** Statements that are not the gateway's: the meter's own and the bench's counters (lib/db.mjs COUNTS_SQL). */
const NOT_THE_GATEWAYS = /pg_stat_statements|pg_stat_user_tables|^select count\(\*\) as n from /i
/** Scans and row changes per table of the bench's database: a sequential scan of a queue table shows here. */
const TABLES_SQL = `select relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup, n_dead_tup,
  autovacuum_count, autoanalyze_count from pg_stat_user_tables`

/**
 * A meter for database `name` at `url`. `start()` resets this database's pg_stat_statements entries and
 * takes the snapshots; sampling runs until `stop(messages, gatewayCpuSeconds)`, which returns the figures
 * per message. `statements`: whether pg_stat_statements is loaded.
 */
export async function openPgMeter({ url, name, statements }) {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  const own = new pg.Client({ connectionString: url })
  await own.connect()
  let dbid = null
  let statementsNote = statements ? null : 'pg_stat_statements not loaded'
  if (statements) {
    try {
      await own.query('create extension if not exists pg_stat_statements')
      dbid = Number((await own.query('select oid from pg_database where datname = current_database()')).rows[0].oid)
    } catch (error) {
      statementsNote = `pg_stat_statements unusable: ${error.message}`
    }
  }
  const dataDirectory = (await admin.query('show data_directory')).rows[0].data_directory
  const dbOid = Number((await admin.query('select oid from pg_database where datname = $1', [name])).rows[0].oid)
  const trackUtility = statements ? (await admin.query("select current_setting('pg_stat_statements.track_utility', true) as v")).rows[0].v : null
  const postmaster = postmasterPid(dataDirectory)

  let before
  let sampling = false
  let sampler
  /** Per backend pid of this database: CPU seconds at first sight (0 when it connected in the window) and last seen. */
  const backends = new Map()
  const waits = new Map()
  let activeSamples = 0
  let samples = 0
  let otherConnectionsMax = 0
  let otherActiveSamples = 0
  let lockHeldSamples = 0
  let lockWaiting = 0

  async function sampleActivity(initial) {
    // One query at a time: a pg client queues concurrent queries, and pg 9 will refuse them.
    const { rows } = await admin.query(ACTIVITY_SQL, [name])
    const locks = initial ? null : await admin.query(ADVISORY_SQL, [dbOid])
    samples++
    if (locks !== null) {
      if (Number(locks.rows[0].held) > 0) lockHeldSamples++
      lockWaiting += Number(locks.rows[0].waiting)
    }
    let otherActive = 0
    let others = 0
    for (const row of rows) {
      if (!row.ours) {
        others++
        if (row.state === 'active') otherActive++
        continue
      }
      const cpu = procCpu(row.pid)
      if (cpu !== null) {
        const seen = backends.get(row.pid)
        if (seen === undefined) backends.set(row.pid, { first: initial ? cpu[0] : 0, last: cpu[0] })
        else seen.last = cpu[0]
      }
      if (initial) continue
      // What each of this database's connections is doing: idle (waiting for the gateway), or active on
      // CPU (no wait event) or waiting on a lock, the WAL, I/O.
      const key = row.state === 'active' ? (row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'CPU') : row.state === 'idle' ? 'idle' : `${row.state}`
      waits.set(key, (waits.get(key) ?? 0) + 1)
      if (row.state === 'active') activeSamples++
    }
    otherConnectionsMax = Math.max(otherConnectionsMax, others)
    otherActiveSamples += otherActive
  }

  async function snapshot() {
    const wal = await admin.query(WAL_SQL)
    const db = await admin.query(DB_SQL, [name])
    const checkpoints = await admin.query(CHECKPOINTS_SQL)
    const info = dbid === null ? null : await own.query('select dealloc from pg_stat_statements_info')
    const tables = Object.fromEntries((await own.query(TABLES_SQL)).rows.map((row) => [row.relname, row]))
    return { t: Date.now(), server: serverCpuSeconds(postmaster), wal: wal.rows[0], db: db.rows[0], checkpoints: checkpoints.rows[0], dealloc: info === null ? null : Number(info.rows[0].dealloc), tables }
  }

  return {
    trackUtility,
    async start() {
      // Stats a backend has not reported yet (PostgreSQL 15 flushes them at most once a second) belong
      // to what came before.
      await sleep(1100)
      if (dbid !== null) await own.query('select pg_stat_statements_reset(0::oid, $1::oid, 0::bigint)', [dbid])
      await sampleActivity(true)
      before = await snapshot()
      sampling = true
      samples = 0
      sampler = (async () => {
        while (sampling) {
          await sleep(200)
          if (sampling) await sampleActivity(false).catch(() => {})
        }
      })()
    },
    async stop(messages, gateway = {}) {
      sampling = false
      await sampler
      await sampleActivity(false).catch(() => {})
      const beforeStatsWait = { server: serverCpuSeconds(postmaster), t: Date.now() }
      // Let the backends flush their pending counters (pg_stat_wal, pg_stat_database) before reading.
      await sleep(1500)
      const after = await snapshot()
      let statementRows = []
      if (dbid !== null) {
        statementRows = (
          await own.query(
            `select queryid::text, query, calls, total_exec_time, mean_exec_time, rows, wal_records, wal_fpi, wal_bytes, toplevel
             from pg_stat_statements where dbid = $1`,
            [dbid],
          )
        ).rows
      }
      await Promise.allSettled([admin.end(), own.end()])
      const n = Math.max(1, messages)
      const per = (x, digits = 2) => round(Number(x) / n, digits)
      const d = (key, from = 'wal') => Number(after[from]?.[key] ?? NaN) - Number(before[from]?.[key] ?? NaN)
      const lsnBytes = lsnToBytes(after.wal.lsn) - lsnToBytes(before.wal.lsn)
      const serverSeconds = beforeStatsWait.server.seconds - before.server.seconds
      const backendSeconds = [...backends.values()].reduce((sum, b) => sum + Math.max(0, b.last - b.first), 0)
      const windowSeconds = (beforeStatsWait.t - before.t) / 1000

      const gatewayRows = statementRows.filter((r) => !NOT_THE_GATEWAYS.test(r.query))
      const benchRows = statementRows.filter((r) => NOT_THE_GATEWAYS.test(r.query))
      const calls = gatewayRows.reduce((sum, r) => sum + Number(r.calls), 0)
      const topLevelCalls = gatewayRows.filter((r) => r.toplevel !== false).reduce((sum, r) => sum + Number(r.calls), 0)
      const execMs = gatewayRows.reduce((sum, r) => sum + Number(r.total_exec_time), 0)
      const stmtWalBytes = gatewayRows.reduce((sum, r) => sum + Number(r.wal_bytes), 0)
      const stmtWalRecords = gatewayRows.reduce((sum, r) => sum + Number(r.wal_records), 0)
      const top = gatewayRows
        .map((r) => ({
          callsPerMessage: round(Number(r.calls) / n, 3),
          meanUs: round(Number(r.mean_exec_time) * 1000, 1),
          totalUsPerMessage: round((Number(r.total_exec_time) * 1000) / n, 1),
          rowsPerCall: round(Number(r.rows) / Math.max(1, Number(r.calls)), 2),
          walBytesPerMessage: round(Number(r.wal_bytes) / n, 1),
          calls: Number(r.calls),
          query: shortQuery(r.query),
        }))
        .sort((a, b) => b.callsPerMessage - a.callsPerMessage || b.totalUsPerMessage - a.totalUsPerMessage)
      const waitTotal = [...waits.values()].reduce((a, b) => a + b, 0)
      const waitShares = Object.fromEntries([...waits.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / Math.max(1, waitTotal), 3)]))
      const activeShares = Object.fromEntries(
        [...waits.entries()].filter(([k]) => k !== 'idle' && !k.startsWith('idle')).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / Math.max(1, activeSamples), 3)]),
      )
      return {
        messages,
        windowSeconds: round(windowSeconds, 1),
        statements: dbid === null
          ? { note: statementsNote }
          : {
              trackUtility,
              perMessage: per(calls),
              // The `pg` driver sends one statement per round trip (no pipelining), but a simple query
              // may carry several (the claim's `begin; select … lock`): top-level calls, BEGIN and COMMIT
              // included, are at most the round trips.
              roundTripsAtMostPerMessage: per(topLevelCalls),
              distinct: gatewayRows.length,
              execUsPerMessage: round((execMs * 1000) / n, 1),
              meanUs: round((execMs * 1000) / Math.max(1, calls), 1),
              benchCountingCalls: benchRows.reduce((sum, r) => sum + Number(r.calls), 0),
              // Entries pg_stat_statements evicted in the window (other databases' statements fill it
              // too): above 0, some rare statements may be missing from these figures.
              deallocated: after.dealloc - before.dealloc,
              top: top.slice(0, 25),
            },
        cpu: {
          serverUsPerMessage: round((serverSeconds * 1e6) / n, 1),
          serverCores: round(serverSeconds / Math.max(0.001, windowSeconds), 2),
          backendsUsPerMessage: round((backendSeconds * 1e6) / n, 1),
          otherUsPerMessage: round(((serverSeconds - backendSeconds) * 1e6) / n, 1),
          backends: backends.size,
          processes: after.server.processes,
          ...(gateway.cpuSeconds === undefined
            ? {}
            : { gatewayUsPerMessage: round((gateway.cpuSeconds * 1e6) / n, 1), gatewayMainUsPerMessage: round((gateway.mainCpuSeconds * 1e6) / n, 1), gatewayCores: round(gateway.cpuSeconds / Math.max(0.001, windowSeconds), 2) }),
        },
        wal: {
          bytesPerMessage: per(d('wal_bytes'), 0),
          lsnBytesPerMessage: per(lsnBytes, 0),
          recordsPerMessage: per(d('wal_records')),
          fpiPerMessage: per(d('wal_fpi'), 3),
          writesPerMessage: per(d('wal_write'), 3),
          syncsPerMessage: per(d('wal_sync'), 3),
          buffersFull: d('wal_buffers_full'),
          statementBytesPerMessage: dbid === null ? null : per(stmtWalBytes, 0),
          statementRecordsPerMessage: dbid === null ? null : per(stmtWalRecords),
          mbPerSecond: round(d('wal_bytes') / 1024 / 1024 / Math.max(0.001, windowSeconds), 2),
          // Full-page images follow a checkpoint (the first change of each page after it): more of them
          // in a window with a checkpoint.
          checkpoints: d('checkpoints', 'checkpoints'),
        },
        // Per table, per message: sequential scans and the rows they read, index scans, row changes; and
        // the live and dead rows at the end (a queue table's backlog, and what vacuum has not yet removed).
        tables: tablesPerMessage(before.tables, after.tables, n),
        database: {
          commitsPerMessage: per(d('xact_commit', 'db')),
          rollbacksPerMessage: per(d('xact_rollback', 'db'), 3),
          insertedPerMessage: per(d('tup_inserted', 'db')),
          updatedPerMessage: per(d('tup_updated', 'db')),
          deletedPerMessage: per(d('tup_deleted', 'db')),
        },
        activity: {
          samples,
          // Of all samples of this database's connections: idle ones wait for the gateway.
          shares: waitShares,
          // Of the active ones only: on CPU, or waiting (Lock:advisory is the claim's lock; LWLock:WALWrite
          // and IO:WALSync the WAL flush at commit).
          activeShares,
          meanActiveBackends: round(activeSamples / Math.max(1, samples), 2),
          // The claim's advisory lock: the share of samples in which a claim held it (near 1: claims are
          // the bottleneck), and how many claims waited for it on average.
          advisoryHeldShare: round(lockHeldSamples / Math.max(1, samples), 3),
          advisoryWaitingMean: round(lockWaiting / Math.max(1, samples), 2),
          otherConnectionsMax,
          otherActiveMean: round(otherActiveSamples / Math.max(1, samples), 2),
        },
      }
    },
    async close() {
      sampling = false
      await sampler
      await Promise.allSettled([admin.end(), own.end()])
    },
  }
}

function tablesPerMessage(before, after, n) {
  const out = {}
  for (const [name, b] of Object.entries(after)) {
    const a = before[name] ?? {}
    const d = (key) => Number(b[key]) - Number(a[key] ?? 0)
    if (d('seq_scan') + d('idx_scan') + d('n_tup_ins') + d('n_tup_upd') + d('n_tup_del') === 0) continue
    out[name] = {
      seqScansPerMessage: round(d('seq_scan') / n, 3),
      seqRowsReadPerMessage: round(d('seq_tup_read') / n, 1),
      indexScansPerMessage: round(d('idx_scan') / n, 2),
      insertedPerMessage: round(d('n_tup_ins') / n, 2),
      updatedPerMessage: round(d('n_tup_upd') / n, 2),
      hotUpdatedShare: round(d('n_tup_hot_upd') / Math.max(1, d('n_tup_upd')), 2),
      deletedPerMessage: round(d('n_tup_del') / n, 2),
      liveRowsAtEnd: Number(b.n_live_tup),
      deadRowsAtEnd: Number(b.n_dead_tup),
      autovacuums: d('autovacuum_count'),
      autoanalyzes: d('autoanalyze_count'),
    }
  }
  return out
}

/** '16/B374D848' → bytes. */
function lsnToBytes(lsn) {
  const [hi, lo] = String(lsn).split('/')
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16)
}

/** A normalised statement on one line, cut to about 80 characters. */
export function shortQuery(text) {
  const line = String(text).replace(/\s+/g, ' ').trim()
  return line.length > 80 ? `${line.slice(0, 79)}…` : line
}

/** One line for the console: PostgreSQL's side of an end-to-end run. */
export function pgSentence(e2e) {
  const p = e2e.pg
  const st = p.statements
  const statements = st.perMessage === undefined ? `statements: ${st.note}` : `${st.perMessage} statements a message (at most as many round trips; ${st.execUsPerMessage} µs executing, mean ${st.meanUs} µs)`
  const waits = Object.entries(p.activity.activeShares).slice(0, 3).map(([k, v]) => `${k} ${Math.round(v * 100)} %`).join(', ')
  return (
    `PostgreSQL, ${e2e.instances} instance(s): ${statements}; server CPU ${p.cpu.serverUsPerMessage} µs/msg (${p.cpu.serverCores} cores; this database's backends ` +
    `${p.cpu.backendsUsPerMessage}), gateway ${p.cpu.gatewayUsPerMessage} µs/msg; WAL ${p.wal.bytesPerMessage} B/msg, ${p.wal.recordsPerMessage} records, ` +
    `${p.wal.syncsPerMessage} fsyncs; ${p.database.commitsPerMessage} commits/msg; active backends ${p.activity.meanActiveBackends} (${waits})`
  )
}

function layout(rows, left = 1) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  const lines = rows.map((r) => r.map((c, i) => (i < left ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '))
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines
}

const pct = (x) => `${Math.round((x ?? 0) * 100)} %`
/** The share of active samples waiting on the WAL: its locks, its writes and flushes. */
const walWait = (shares) => Object.entries(shares).filter(([k]) => /^(LWLock:WAL|IO:WAL)/.test(k)).reduce((sum, [, v]) => sum + v, 0)

/** The console tables: PostgreSQL per message for each end-to-end run, and each run's top statements. */
export function pgTables(runs, topCount = 10) {
  const withPg = runs.filter((r) => r.pg)
  if (withPg.length === 0) return []
  const rows = [['postgres e2e', 'msg/s', 'gw µs/msg', 'server µs/msg', 'backends µs', 'stmts/msg', 'exec µs/msg', 'commits/msg', 'WAL B/msg', 'WAL rec/msg', 'FPI/msg', 'fsync/msg', 'WAL MB/s', 'active', 'on CPU', 'WAL wait', 'lock wait', 'lock held', 'idle in xact']]
  for (const r of withPg) {
    const p = r.pg
    rows.push([
      `${r.instances} instance${r.instances > 1 ? 's' : ''}`, r.messagesPerSecond, p.cpu.gatewayUsPerMessage, p.cpu.serverUsPerMessage, p.cpu.backendsUsPerMessage,
      p.statements.perMessage ?? '', p.statements.execUsPerMessage ?? '', p.database.commitsPerMessage,
      p.wal.bytesPerMessage, p.wal.recordsPerMessage, p.wal.fpiPerMessage, p.wal.syncsPerMessage, p.wal.mbPerSecond, p.activity.meanActiveBackends,
      pct(p.activity.activeShares.CPU), pct(walWait(p.activity.activeShares)), pct(p.activity.activeShares['Lock:advisory']), pct(p.activity.advisoryHeldShare),
      pct(p.activity.shares['idle in transaction']),
    ].map((v) => (v === null || v === undefined ? '' : String(v))))
  }
  const out = layout(rows)
  for (const r of withPg) {
    const tables = Object.entries(r.pg.tables ?? {})
    if (tables.length === 0) continue
    const t = [[`tables, ${r.instances} instance(s)`, 'seq scans/msg', 'seq rows/msg', 'idx scans/msg', 'ins/msg', 'upd/msg', 'HOT', 'del/msg', 'live at end', 'dead at end', 'autovacuums']]
    for (const [name, x] of tables.sort((a, b) => b[1].seqRowsReadPerMessage - a[1].seqRowsReadPerMessage)) {
      t.push([name, x.seqScansPerMessage, x.seqRowsReadPerMessage, x.indexScansPerMessage, x.insertedPerMessage, x.updatedPerMessage, pct(x.hotUpdatedShare), x.deletedPerMessage, x.liveRowsAtEnd, x.deadRowsAtEnd, x.autovacuums].map(String))
    }
    out.push('', ...layout(t))
  }
  for (const r of withPg) {
    const top = r.pg.statements.top
    if (!top) continue
    const t = [[`top statements, ${r.instances} instance(s)`, 'calls/msg', 'mean µs', 'µs/msg', 'rows/call', 'WAL B/msg', 'statement (normalised)']]
    for (const x of top.slice(0, topCount)) t.push([' ', x.callsPerMessage, x.meanUs, x.totalUsPerMessage, x.rowsPerCall, x.walBytesPerMessage, x.query].map(String))
    out.push('', ...layout(t).map((line) => line.replace(/\s+$/, '')))
  }
  return out
}
