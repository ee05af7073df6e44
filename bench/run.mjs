/**
 * `npm run bench`: Switchboard's benchmark (SPEC §8, BENCHMARKS.md). Measures, on this machine and in
 * this run, side by side:
 *   - ingest: signed 1–2 KB Meta text webhooks, verified, routed, committed, answered;
 *   - batch ingest: 100 messages a POST;
 *   - end to end + memory: webhook in → echo bot → reply POST at a fake Graph API, counted by tag
 *     (none lost, none duplicated), the queue's drain, and the gateway's RSS through the whole run;
 *   - photo: end to end with Meta image webhooks (the photo fetched from the fake Graph API in two steps
 *     and stored under $DATA_DIR/media before the echo bot answers the caption), beside text floods of
 *     the same size on the same gateway, alternating: what a photo costs a message more than a text
 *     (CPU, throughput, disk, RSS, idle webhook-to-reply time);
 * on SQLite and on PostgreSQL, against two baselines under the same load generator (wrk, one thread,
 * keep-alive, loopback, rounds alternating A B C A B C): a bare node:http server and the minimal correct
 * receiver (HMAC-SHA256 + timingSafeEqual + JSON.parse). Servers run on core 0, wrk, the fake Graph API
 * and this runner on core 1. Prints a table and writes bench/results.json.
 *
 * Options: --db sqlite,postgres  --scenarios ingest,batch,e2e,photo  --seconds 5  --rounds 3  --batch-rounds 2
 *          --warmup 2  --connections 50  --numbers 50  --users 20000  --quick (a 1-2 minute smoke run)
 *          --messages 100000 --e2e-seconds 120 --calibration 3000 (end to end: a calibration flood, then a
 *            flood up to `messages` in all, cut to about e2e-seconds at the calibrated rate)
 *          --drain-timeout 300 (seconds for the end-to-end floods and drains of one database)
 *          --photos 5000 --photo-kb 100 --photo-rounds 2 --photo-warmup 1000 --probes 20 (photo: photos and as
 *            many texts, measured in rounds of photos/rounds each after a warm-up of each kind, then probes:
 *            one message at a time, webhook to reply)
 *          --typing-indicator default|on|off (the channels' typing_indicator; default: Meta's, on)
 *          --recipients 100000 --broadcast-channels 1 (broadcast: one template broadcast of that many JSON
 *            recipients, split over that many channels; bench/lib/broadcast.mjs; --quick: 5,000)
 *          --scenarios events: end to end without and with one subscription to every event type
 *            (bench/lib/events.mjs; with e2e in the same run, e2e's result is the run without)
 *          --instances 1 (end to end on PostgreSQL: one run per instance count listed, e.g. 1,2: that many
 *            `dist/main.js` on one database, each fed by a wrk of its own with its share of the connections;
 *            bench/lib/pg-stats.mjs measures PostgreSQL's side of each run: statements, server CPU, WAL)
 *          --pg-stats on|off (on: end to end on PostgreSQL loads pg_stat_statements if it is not loaded yet,
 *            with ALTER SYSTEM and a restart of the local cluster, said when done; off: no statement figures)
 *          --scenarios flood: signed webhooks at a steady rate, alone and beside N clients posting unsigned or
 *            wrongly signed ~3 MB bodies (bench/lib/flood.mjs): --flood-clients 8 --flood-seconds 15
 *            --flood-rounds 2 --signed-rate 50 --flood-mb 3 --flood-kinds bulk,ids,unknown
 *          --cpu-prof (gateways write .cpuprofile files to bench/profiles/)  --keep (keep the work folder)
 *          --time-limit 900 (seconds; everything is killed after it)  --out bench/results.json
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { BodyPool } from './lib/bodies.mjs'
import { photoSet } from './lib/photos.mjs'
import { broadcastScenario, broadcastSentence, broadcastTable, broadcastTargets } from './lib/broadcast.mjs'
import { eventsScenario, eventsSentence, eventsTable, eventsTargets } from './lib/events.mjs'
import { createPgDatabase, dropLeftoverDatabases, openCounter, PG_ADMIN_URL, postgresAnswers } from './lib/db.mjs'
import { enablePgStatStatements, openPgMeter, pgSentence, pgTables } from './lib/pg-stats.mjs'
import { floodScenario, floodSentence, floodTable, floodTargets } from './lib/flood.mjs'
import { benchNumbers } from './lib/numbers.mjs'
import { freePort, hasTaskset, killAll, rssBytes, start, waitForHttp, waitForPort } from './lib/procs.mjs'
import { BENCH_ACCESS_TOKEN, configureGateway } from './lib/setup.mjs'
import { requireWrk, startWrk } from './lib/wrk.mjs'
import { startNodeOptions } from './lib/start-command.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const WEBHOOK_PATH = '/channels/whatsapp/meta/incoming_message'
// Servers may use both cores (the gateway's SQLite writer is a thread of its own; a single-threaded baseline
// uses one either way); the load generator, the fake Graph API and this runner stay on core 1.
const SERVER_CPU = '0,1'
const LOAD_CPU = '1'
const MB = 1024 * 1024
// Photo tags start here, so the texts and photos of one scenario never share a reply tag at the fake
// Graph API; probes use lines far past any flood's.
const PHOTO_TAG_BASE = 1 << 20
const PROBE_LINE = 900_000

// --- options -------------------------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite,postgres' },
    scenarios: { type: 'string', default: 'ingest,batch,e2e,photo' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'batch-rounds': { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    messages: { type: 'string', default: '100000' },
    numbers: { type: 'string', default: '50' },
    users: { type: 'string', default: '20000' },
    'drain-timeout': { type: 'string', default: '300' },
    'e2e-seconds': { type: 'string', default: '120' },
    calibration: { type: 'string', default: '3000' },
    photos: { type: 'string', default: '5000' },
    recipients: { type: 'string', default: '100000' },
    'broadcast-channels': { type: 'string', default: '1' },
    'photo-kb': { type: 'string', default: '100' },
    'photo-rounds': { type: 'string', default: '2' },
    'photo-warmup': { type: 'string', default: '1000' },
    probes: { type: 'string', default: '20' },
    'typing-indicator': { type: 'string', default: 'default' },
    instances: { type: 'string', default: '1' },
    'pg-stats': { type: 'string', default: 'on' },
    'flood-clients': { type: 'string', default: '8' },
    'flood-seconds': { type: 'string', default: '15' },
    'flood-rounds': { type: 'string', default: '2' },
    'signed-rate': { type: 'string', default: '50' },
    'flood-mb': { type: 'string', default: '3' },
    'flood-kinds': { type: 'string', default: 'bulk,ids,unknown' },
    'time-limit': { type: 'string', default: '900' },
    'log-level': { type: 'string', default: 'info' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
})
const quick = args.quick
const opt = {
  dbs: args.db.split(',').map((s) => s.trim()).filter(Boolean),
  scenarios: new Set(args.scenarios.split(',').map((s) => s.trim())),
  seconds: quick ? 2 : Number(args.seconds),
  rounds: quick ? 1 : Number(args.rounds),
  batchRounds: quick ? 1 : Number(args['batch-rounds']),
  warmup: quick ? 1 : Number(args.warmup),
  connections: Number(args.connections),
  messages: quick ? 10_000 : Number(args.messages),
  numbers: Number(args.numbers),
  users: Number(args.users),
  drainTimeoutMs: Number(args['drain-timeout']) * 1000,
  e2eSeconds: quick ? 10 : Number(args['e2e-seconds']),
  calibration: quick ? 1000 : Number(args.calibration),
  photos: quick ? 1000 : Number(args.photos),
  photoBytes: Math.round(Number(args['photo-kb']) * 1024),
  photoRounds: quick ? 1 : Math.max(1, Number(args['photo-rounds'])),
  photoWarmup: quick ? 200 : Number(args['photo-warmup']),
  probes: quick ? 5 : Number(args.probes),
  typingIndicator: { default: null, on: true, off: false }[args['typing-indicator']],
  instances: args.instances.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 1),
  pgStats: args['pg-stats'] !== 'off',
  flood: {
    clients: Number(args['flood-clients']),
    seconds: quick ? 5 : Number(args['flood-seconds']),
    rounds: quick ? 1 : Math.max(1, Number(args['flood-rounds'])),
    signedRate: Number(args['signed-rate']),
    mb: Number(args['flood-mb']),
    kinds: args['flood-kinds'].split(',').map((s) => s.trim()).filter(Boolean),
  },
  timeLimitMs: Number(args['time-limit']) * 1000,
  cpuProf: args['cpu-prof'],
  logLevel: args['log-level'],
}

if (opt.instances.length === 0) {
  process.stderr.write('bench: --instances takes a list of counts, e.g. 1,2\n')
  process.exit(64)
}
if (opt.typingIndicator === undefined) {
  process.stderr.write('bench: --typing-indicator takes default, on or off\n')
  process.exit(64)
}

// --- the run's fixed parts -------------------------------------------------------------------------
const startedAt = new Date()
const machineCpus = availableParallelism() // before this runner pins itself to one core
const wrkVersion = requireWrk()
if (!existsSync(join(ROOT, 'dist', 'gateway.js'))) {
  process.stderr.write('bench: dist/ is missing; run `npm run bench` (it builds first) or `npm run build`\n')
  process.exit(1)
}
if (!hasTaskset) process.stderr.write('bench: taskset not found (util-linux): processes run unpinned and figures are noisier\n')
if (machineCpus < 2) process.stderr.write('bench: fewer than 2 cores: server and load generator share one, ratios still hold but absolute figures drop\n')
// This runner polls and generates bodies: keep it off the server's core.
if (hasTaskset) spawnSync('taskset', ['-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' })

const work = mkdtempSync(join(tmpdir(), 'switchboard-bench-'))
const logs = join(work, 'logs')
mkdirSync(logs)
const profileDir = join(ROOT, 'bench', 'profiles')
if (opt.cpuProf) mkdirSync(profileDir, { recursive: true })
const appSecret = randomBytes(16).toString('hex')
const adminToken = `sb_bench_${randomBytes(18).toString('base64url')}`
const secretKeys = randomBytes(32).toString('base64')
const numbers = benchNumbers(opt.numbers)
const runTag = randomBytes(3).toString('hex')
/** Whether pg_stat_statements is loaded (main() checks, and loads it, before end to end on PostgreSQL). */
let pgStatStatements = { loaded: false, restarted: false, note: 'not checked' }
/**
 * The body pools of instances 2, 3, … of a scaled-out end to end (their own files, wamids and tags, far
 * above any other pool's, so every reply at the fake Graph API is told apart).
 */
const extraPools = []
function extraPool(i) {
  extraPools[i] ??= new BodyPool({ file: join(work, `single-${i + 2}.bodies`), kind: 'single', appSecret, runTag: `${runTag}${i + 2}`, numbers, users: opt.users, tagBase: (i + 1) * (1 << 23) })
  return extraPools[i]
}
const cleanups = []
let logCounter = 0
const logFile = (name) => join(logs, `${String(++logCounter).padStart(3, '0')}-${name}.log`)

/** Kills every child, drops the databases made so far (bounded), removes the bulky files, exits. */
let aborting = false
async function abort(why, code) {
  aborting = true
  process.stderr.write(`\nbench: ${why}; stopping every process it started (logs in ${logs})\n`)
  killAll()
  await Promise.race([Promise.allSettled(cleanups.map((cleanup) => cleanup())), sleep(5000)])
  removeBulk()
  process.exit(code)
}
const limitTimer = setTimeout(() => void abort(`time limit of ${opt.timeLimitMs / 1000} s reached`, 2), opt.timeLimitMs)
limitTimer.unref()
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void abort(signal, 130))

/** The body files and databases are large; the logs are kept when a run fails. */
function removeBulk() {
  for (const name of readdirSync(work)) {
    if (name.endsWith('.bodies') || name.startsWith('data-')) rmSync(join(work, name), { recursive: true, force: true })
  }
}

const say = (text) => process.stdout.write(`${text}\n`)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)

/** CPU seconds used so far by `pid` (utime + stime of /proc/<pid>/stat). */
function cpuSeconds(pid, statFile = `/proc/${pid}/stat`) {
  try {
    const fields = readFileSync(statFile, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** CPU seconds of `pid`'s main thread alone (the gateway's HTTP and JavaScript; its other threads are SQLite's and V8's). */
function mainThreadCpuSeconds(pid) {
  return cpuSeconds(pid, `/proc/${pid}/task/${pid}/stat`)
}

// --- servers -----------------------------------------------------------------------------------------
async function startBaseline(kind) {
  const port = await freePort()
  const proc = start(kind, 'node', [join(ROOT, 'bench', 'servers', `${kind}.mjs`)], {
    cpu: SERVER_CPU,
    env: { PORT: String(port), APP_SECRET: appSecret },
    logFile: logFile(kind),
  })
  await waitForPort(proc, port)
  return { name: kind === 'bare' ? 'bare node:http' : 'minimal receiver', kind, port, proc, mode: 'wrap' }
}

async function startFakeGraph() {
  const port = await freePort()
  const proc = start('fake-graph', 'node', [join(ROOT, 'bench', 'servers', 'fake-graph.mjs')], {
    cpu: LOAD_CPU,
    env: { PORT: String(port), NUMBERS: String(opt.numbers), PHOTO_BYTES: String(opt.photoBytes), ACCESS_TOKEN: BENCH_ACCESS_TOKEN },
    logFile: logFile('fake-graph'),
  })
  await waitForHttp(proc, `http://127.0.0.1:${port}/__bench/stats`)
  const base = `http://127.0.0.1:${port}`
  return {
    base,
    proc,
    async stats() {
      return (await fetch(`${base}/__bench/stats`)).json()
    },
    async reset() {
      await (await fetch(`${base}/__bench/reset`, { method: 'POST' })).arrayBuffer()
    },
  }
}

/**
 * A gateway on a fresh database, configured through the admin API. `entry` 'main' runs `dist/main.js`
 * exactly as `npm start` does (with its node options); 'ingest' runs bench/gateway.mjs, the same
 * composition without the worker. `shareWith` (PostgreSQL): another instance on that gateway's database,
 * already configured; the first one drops the database when it stops.
 */
async function startGateway(dialect, entry, graph, { shareWith } = {}) {
  const port = await freePort()
  const dataDir = join(work, `data-${dialect}-${entry}-${port}`)
  mkdirSync(dataDir)
  let database
  let dropDatabase
  if (shareWith !== undefined) {
    database = { url: shareWith.database.url, name: shareWith.database.name, drop: async () => {} }
  } else if (dialect === 'postgres') {
    database = await createPgDatabase()
    dropDatabase = () => database.drop()
    cleanups.push(dropDatabase)
  }
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    SWITCHBOARD_SECRET_KEYS: secretKeys,
    SWITCHBOARD_ADMIN_TOKEN: adminToken,
    META_GRAPH_URL: graph.base,
    LOG_LEVEL: opt.logLevel,
    // The event receiver runs on 127.0.0.1.
    SWITCHBOARD_ALLOW_PRIVATE_URLS: 'true',
    BENCH_RUN_WORKER: entry === 'ingest' ? '0' : '1',
    ...(database ? { DATABASE_URL: database.url } : { DATABASE_URL: '' }),
  }
  const script = entry === 'main' ? join(ROOT, 'dist', 'main.js') : join(ROOT, 'bench', 'gateway.mjs')
  // Both entries get the node options `npm start` uses (its heap cap shapes the RSS measured).
  const nodeArgs = [
    ...startNodeOptions(join(ROOT, 'package.json')),
    ...(opt.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${dialect}-${entry}-${Date.now()}.cpuprofile`] : []),
  ]
  const proc = start(`gateway-${dialect}-${entry}`, 'node', [...nodeArgs, script], { cpu: SERVER_CPU, env, logFile: logFile(`gateway-${dialect}-${entry}`) })
  const baseUrl = `http://127.0.0.1:${port}`
  await waitForHttp(proc, `${baseUrl}/readyz`, 60_000)
  const ids = shareWith?.ids ?? (await configureGateway({ baseUrl, adminToken, appSecret, numbers, typingIndicator: opt.typingIndicator }))
  const counter = openCounter(dialect, { dataDir, url: database?.url })
  return {
    name: `gateway (${dialect})`,
    kind: 'gateway',
    port,
    proc,
    mode: 'once',
    dialect,
    baseUrl,
    dataDir,
    database,
    ids,
    counter,
    async stop() {
      await counter.close().catch(() => {})
      const { code, signal } = await proc.stop(30_000)
      if (code !== 0) say(`  note: ${proc.name} exited with code ${code} signal ${signal}; log ${proc.logFile}`)
      rmSync(dataDir, { recursive: true, force: true })
      if (database && dropDatabase) {
        await database.drop().catch((error) => say(`  note: could not drop ${database.url}: ${error.message}`))
        cleanups.splice(cleanups.indexOf(dropDatabase), 1)
      }
    },
  }
}

// --- wrk against one server -------------------------------------------------------------------------
/** One wrk run of `seconds` against `server`; gateways read unused bodies from the pool's cursor. */
async function measure(server, pool, seconds, { limit = 0, label }) {
  const startByte = server.mode === 'once' ? pool.cursor.byte : 0
  const cpuBefore = cpuSeconds(server.proc.pid)
  const mainCpuBefore = mainThreadCpuSeconds(server.proc.pid)
  const wallBefore = performance.now()
  const summary = await startWrk({
    url: `http://127.0.0.1:${server.port}${WEBHOOK_PATH}`,
    path: WEBHOOK_PATH,
    file: pool.o.file,
    startByte,
    mode: server.mode,
    seconds,
    connections: opt.connections,
    cpu: LOAD_CPU,
    limit,
    logFile: logFile(`wrk-${label}`),
  }).result()
  summary.cpu = (cpuSeconds(server.proc.pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000)
  if (server.mode === 'once') {
    pool.advance(summary.sent, summary.pos)
    if (summary.exhausted > 0) throw new Error(`${label}: the body pool ran out (${summary.exhausted} repeats); the run is invalid`)
  }
  summary.cpuUsPerRequest = summary.requests > 0 ? ((cpuSeconds(server.proc.pid) - cpuBefore) * 1e6) / summary.requests : NaN
  summary.mainCpuUsPerRequest = summary.requests > 0 ? ((mainThreadCpuSeconds(server.proc.pid) - mainCpuBefore) * 1e6) / summary.requests : NaN
  const errors = summary.errors
  summary.errorCount = errors.connect + errors.read + errors.write + errors.status + errors.timeout
  // Kept and reported, not fatal: a timeout is a (bad) figure; a non-2xx answer fails the targets.
  if (summary.errorCount > 0) {
    const note = `${label}: errors ${JSON.stringify(errors)} (non-2xx answers, timeouts over 10 s or socket errors)`
    say(`  ${note}`)
    results.notes.push(note)
  }
  return summary
}

/**
 * Warm-up, then `rounds` rounds of bare → receiver → gateway (A B C A B C): each ratio compares runs
 * seconds apart, so load from elsewhere on the machine hits the three alike.
 */
async function alternate(servers, pool, { rounds, messagesPerPost, label }) {
  const perServer = new Map(servers.map((s) => [s, []]))
  // What the gateway answered 200 and what was sent to it, warm-ups included, to check the store after.
  const gatewayTotals = { answeredMessages: 0, sentMessages: 0 }
  let gatewayRps = 0
  const ensureFor = (server) => {
    if (server.mode !== 'once') return 0
    // Twice the gateway's best rate so far (the receiver's before the first gateway run): never wrap.
    const rate = gatewayRps > 0 ? gatewayRps * 2 : Math.min(30_000 / messagesPerPost, 3 * median(perServer.get(servers[1]).map((r) => r.rps)) || 2000)
    const need = Math.ceil(rate * opt.seconds) + opt.connections * 4
    pool.ensure(need)
    return need
  }
  for (const server of servers) {
    const need = ensureFor(server)
    const warm = await measure(server, pool, opt.warmup, { limit: server.mode === 'once' ? need : 0, label: `${label}-warmup-${server.kind}` })
    if (server.kind === 'gateway') {
      gatewayRps = warm.rps
      gatewayTotals.answeredMessages += warm.requests * messagesPerPost
      gatewayTotals.sentMessages += warm.sent * messagesPerPost
    }
    if (server.kind === 'receiver') perServer.get(server).push({ ...warm, warmup: true })
  }
  perServer.get(servers[1]).length = 0
  for (let r = 1; r <= rounds; r++) {
    const line = []
    for (const server of servers) {
      ensureFor(server)
      const result = await measure(server, pool, opt.seconds, { label: `${label}-r${r}-${server.kind}` })
      if (server.kind === 'gateway') {
        gatewayRps = Math.max(gatewayRps, result.rps)
        gatewayTotals.answeredMessages += result.requests * messagesPerPost
        gatewayTotals.sentMessages += result.sent * messagesPerPost
      }
      perServer.get(server).push(result)
      line.push(`${server.kind} ${Math.round(result.rps)}/s p99 ${(result.latency_us.p99 / 1000).toFixed(1)} ms`)
    }
    say(`  ${label} round ${r}/${rounds}: ${line.join(' | ')}`)
  }
  const [bare, receiver, gateway] = servers.map((s) => perServer.get(s))
  const summarize = (runs) => ({
    rps: round(median(runs.map((r) => r.rps))),
    messagesPerSecond: round(median(runs.map((r) => r.rps)) * messagesPerPost),
    p50Ms: round(median(runs.map((r) => r.latency_us.p50)) / 1000, 2),
    p99Ms: round(median(runs.map((r) => r.latency_us.p99)) / 1000, 2),
    worstP99Ms: round(Math.max(...runs.map((r) => r.latency_us.p99)) / 1000, 2),
    cpu: round(median(runs.map((r) => r.cpu)), 2),
    cpuUsPerRequest: round(median(runs.map((r) => r.cpuUsPerRequest)), 1),
    mainCpuUsPerRequest: round(median(runs.map((r) => r.mainCpuUsPerRequest)), 1),
    errors: runs.reduce((sum, r) => sum + r.errorCount, 0),
    runs: runs.map((r) => ({
      rps: round(r.rps),
      p50Ms: round(r.latency_us.p50 / 1000, 2),
      p99Ms: round(r.latency_us.p99 / 1000, 2),
      cpu: round(r.cpu, 2),
      cpuUsPerRequest: round(r.cpuUsPerRequest, 1),
      requests: r.requests,
      errors: r.errors,
    })),
  })
  // Ratios per round (runs seconds apart), then the median.
  const ratio = (a, b) => round(median(a.map((x, i) => x.rps / b[i].rps)), 3)
  return {
    messagesPerPost,
    bodyBytes: pool.meanBodyBytes,
    bare: summarize(bare),
    receiver: summarize(receiver),
    gateway: {
      ...summarize(gateway),
      vsBare: ratio(gateway, bare),
      vsReceiver: ratio(gateway, receiver),
      // CPU time per request of the receiver over the gateway's: what the ratio would be if each had a
      // whole core to itself and neither waited on a disk or a database. Far less noisy than req/s on a
      // shared machine; not the target (the target is measured throughput).
      cpuVsReceiver: round(median(receiver.map((r, i) => r.cpuUsPerRequest / gateway[i].cpuUsPerRequest)), 3),
    },
    receiverVsBare: ratio(receiver, bare),
    gatewayTotals,
  }
}

// --- end to end + memory ----------------------------------------------------------------------------
/**
 * Floods `n` messages through wrk (the Lua script stops at `n` and touches a marker), waits for the
 * answers in flight (the stored count stops moving), stops wrk (it prints its summary on SIGINT), then
 * waits until no job is pending or running. Returns the times and wrk's summary. `more`: further
 * instances on the same database, as [{ gateway, pool }]; each gets a wrk of its own with an even share
 * of the messages and of the connections, reading its own pool.
 */
async function floodAndDrain(gateway, pool, graph, n, label, onStats, deadline, more = []) {
  const targets = [{ gateway, pool }, ...more]
  const connections = Math.max(1, Math.round(opt.connections / targets.length))
  const shares = targets.map((_, i) => Math.floor(n / targets.length) + (i < n % targets.length ? 1 : 0))
  // Bodies are made before the clock starts.
  targets.forEach((target, i) => target.pool.ensure(shares[i] + connections * 4))
  const t0 = Date.now()
  const statsBefore = await graph.stats()
  const runs = targets.map((target, i) => {
    const share = shares[i]
    const suffix = i === 0 ? '' : `-${i + 1}`
    const marker = join(work, `${label}${suffix}.done`)
    // A scenario that runs end to end twice on one database (events) reuses the label: no stale marker.
    rmSync(marker, { force: true })
    const run = startWrk({
      url: `http://127.0.0.1:${target.gateway.port}${WEBHOOK_PATH}`,
      path: WEBHOOK_PATH,
      file: target.pool.o.file,
      startByte: target.pool.cursor.byte,
      mode: 'once',
      seconds: 3600,
      connections,
      cpu: LOAD_CPU,
      limit: share,
      marker,
      logFile: logFile(`wrk-${label}${suffix}`),
    })
    return { ...target, run, marker }
  })
  let ingestEnd = 0
  let last = -1
  for (;;) {
    if (runs.every((r) => r.run.proc.child.exitCode !== null)) break
    if (ingestEnd === 0 && runs.every((r) => existsSync(r.marker))) ingestEnd = Date.now()
    if (ingestEnd !== 0) {
      const stored = await gateway.counter.count('inbound')
      if (stored === last) break
      last = stored
      await sleep(200)
    } else {
      await sleep(20)
    }
    if (Date.now() > deadline) {
      for (const r of runs) r.run.proc.signal('SIGINT')
      throw new Error(`${label}: ingest of ${n} messages did not finish in time`)
    }
  }
  for (const r of runs) r.run.proc.signal('SIGINT')
  const loads = []
  for (const r of runs) {
    const load = await r.run.result()
    r.pool.advance(load.sent, load.pos)
    if (load.exhausted > 0) throw new Error(`${label}: the body pool ran out`)
    loads.push(load)
  }
  // One instance: wrk's own summary; several: their sums (and the worst p99).
  const load = loads.length === 1
    ? loads[0]
    : {
        requests: loads.reduce((sum, l) => sum + l.requests, 0),
        sent: loads.reduce((sum, l) => sum + l.sent, 0),
        exhausted: 0,
        latency_us: { p50: Math.max(...loads.map((l) => l.latency_us.p50)), p99: Math.max(...loads.map((l) => l.latency_us.p99)) },
        perInstance: loads.map((l) => ({ requests: l.requests, rps: round(l.rps), p99Ms: round(l.latency_us.p99 / 1000, 2) })),
      }
  let drained = false
  let stats
  while (Date.now() < deadline) {
    stats = await graph.stats()
    onStats(stats)
    if ((await gateway.counter.count('jobsOpen')) === 0) {
      drained = true
      break
    }
    await sleep(100)
  }
  stats = await graph.stats()
  onStats(stats)
  return { t0, ingestEnd: ingestEnd || Date.now(), load, drained, stats, statsBefore }
}

/**
 * End to end on a fresh `dist/main.js`: a calibration flood (`calibration` messages) gives this
 * machine's end-to-end rate; the measured flood then brings the total to `messages` (100,000 by default,
 * the memory target's count) unless that would take more than `e2eSeconds` at the calibrated rate, where
 * it is cut to that. Both floods count for lost, duplicated and memory; the rate is the measured flood's.
 */
async function endToEnd(dialect, pool, graph, { onStart, instances = 1 } = {}) {
  await graph.reset()
  const gateway = await startGateway(dialect, 'main', graph)
  // Further instances (PostgreSQL): the same database and configuration, each fed by its own wrk and pool.
  const others = []
  const rss = []
  let repliesSeen = 0
  let sampling = true
  let meter
  const sampler = (async () => {
    for (let i = 0; sampling; i++) {
      // Several instances: the largest of them (the memory target is per process).
      const sizes = [gateway, ...others].map((g) => rssBytes(g.proc.pid)).filter((b) => b !== null)
      const bytes = sizes.length > 0 ? Math.max(...sizes) : null
      if (bytes !== null) rss.push({ t: Date.now(), rssMb: round(bytes / MB, 1), replies: repliesSeen })
      // Once a second, how many replies are in, for the memory timeline's third column.
      if (i % 4 === 0) repliesSeen = (await graph.stats().catch(() => ({ unique: repliesSeen }))).unique
      await sleep(250)
    }
  })()
  const onStats = (stats) => {
    repliesSeen = stats.unique
  }
  try {
    for (let i = 1; i < instances; i++) others.push(await startGateway(dialect, 'main', graph, { shareWith: gateway }))
    const more = others.map((other, i) => ({ gateway: other, pool: extraPool(i) }))
    const pids = [gateway, ...others].map((g) => g.proc.pid)
    const cpuOf = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
    const mainCpuOf = () => pids.reduce((sum, pid) => sum + mainThreadCpuSeconds(pid), 0)
    // The events scenario subscribes here, before the first message.
    await onStart?.(gateway)
    const deadline = Date.now() + opt.drainTimeoutMs
    const cpuStart = cpuOf()
    const mainCpuStart = mainCpuOf()
    const tStart = Date.now()
    const calibrationCount = Math.min(opt.calibration, opt.messages)
    const calibration = await floodAndDrain(gateway, pool, graph, calibrationCount, `e2e-${dialect}-calibration`, onStats, deadline, more)
    const storedAfterCalibration = await gateway.counter.count('inbound')
    const calibrationRate = calibration.stats.unique / Math.max(0.001, ((calibration.stats.lastAt || Date.now()) - calibration.t0) / 1000)
    // When wrk stops, a request it had begun to write may never reach the gateway (at most one per
    // connection): the flood asks for that many more, so the total stored reaches `messages`.
    const wanted = opt.messages - storedAfterCalibration + opt.connections
    const rest = Math.max(0, Math.min(wanted, Math.round(calibrationRate * opt.e2eSeconds)))
    say(`  calibration: ${calibrationCount} messages at ${Math.round(calibrationRate)} msg/s; measured flood: ${rest} messages`)
    // PostgreSQL's side of the measured flood and its drain (bench/lib/pg-stats.mjs).
    let pgFigures = null
    let measuredCpu0 = 0
    let measuredMain0 = 0
    if (dialect === 'postgres' && rest > 0) {
      meter = await openPgMeter({ url: gateway.database.url, name: gateway.database.name, statements: pgStatStatements.loaded })
      await meter.start()
      measuredCpu0 = cpuOf()
      measuredMain0 = mainCpuOf()
    }
    const measured = rest > 0 ? await floodAndDrain(gateway, pool, graph, rest, `e2e-${dialect}`, onStats, deadline, more) : calibration
    if (meter !== undefined) {
      const floodMessages = measured.stats.unique - measured.statsBefore.unique
      pgFigures = await meter.stop(floodMessages, { cpuSeconds: cpuOf() - measuredCpu0, mainCpuSeconds: mainCpuOf() - measuredMain0 })
      meter = undefined
    }
    const cpuUsed = cpuOf() - cpuStart
    const mainCpuUsed = mainCpuOf() - mainCpuStart
    // Let a straggling duplicate (there should be none) show up, and the idle RSS settle.
    await sleep(1500)
    const stats = await graph.stats()
    onStats(stats)
    await sleep(500)
    sampling = false
    await sampler
    const counts = await gateway.counter.all()
    const repliesInFlood = stats.unique - measured.statsBefore.unique
    const storedInFlood = counts.inbound - (rest > 0 ? storedAfterCalibration : 0)
    const lastReplyAt = stats.lastAt || Date.now()
    const seconds = (lastReplyAt - measured.t0) / 1000
    const firstSecond = Math.floor((measured.t0 - (stats.firstAt || measured.t0)) / 1000) + 1
    const steady = stats.perSecond.slice(firstSecond, -1)
    const rssValues = rss.map((s) => s.rssMb)
    // Flat: the peak of the last quarter of the run is within 16 MB (or 10 %) of the peak of its second quarter.
    const q = Math.floor(rss.length / 4)
    const peak = (xs) => (xs.length ? Math.max(...xs) : NaN)
    const secondQuarter = peak(rssValues.slice(q, 2 * q))
    const lastQuarter = peak(rssValues.slice(3 * q))
    const growthMb = lastQuarter - secondQuarter
    const acknowledged = calibration.load.requests + (rest > 0 ? measured.load.requests : 0)
    return {
      messages: calibrationCount + rest,
      calibrationMessages: calibrationCount,
      calibrationMessagesPerSecond: round(calibrationRate),
      acknowledged,
      stored: counts.inbound,
      replies: stats.sends,
      uniqueReplies: stats.unique,
      duplicates: stats.duplicates,
      untagged: stats.untagged,
      readReceipts: stats.readReceipts,
      lost: counts.inbound - stats.unique,
      drained: calibration.drained && measured.drained,
      inboundProcessed: counts.inboundProcessed,
      outboundSent: counts.outboundSent,
      outbound: counts.outbound,
      deadJobs: counts.jobsDead,
      ingestMessagesPerSecond: round(storedInFlood / Math.max(0.001, (measured.ingestEnd - measured.t0) / 1000)),
      ingestP99Ms: round(measured.load.latency_us.p99 / 1000, 2),
      messagesPerSecond: round(repliesInFlood / seconds),
      steadyRepliesPerSecond: round(median(steady)),
      seconds: round(seconds, 1),
      totalSeconds: round((lastReplyAt - tStart) / 1000, 1),
      drainSeconds: round((lastReplyAt - measured.ingestEnd) / 1000, 1),
      floodStartedAt: measured.t0,
      floodEndedAt: measured.ingestEnd,
      lastReplyAt,
      gatewayCpuSeconds: round(cpuUsed, 1),
      cpuUsPerMessage: round((cpuUsed * 1e6) / Math.max(1, stats.unique), 1),
      mainCpuUsPerMessage: round((mainCpuUsed * 1e6) / Math.max(1, stats.unique), 1),
      memory: {
        messages: stats.unique,
        minMb: round(Math.min(...rssValues), 1),
        maxMb: round(peak(rssValues), 1),
        finalMb: rssValues.at(-1) ?? null,
        growthMb: round(growthMb, 1),
        flat: growthMb < Math.max(16, secondQuarter * 0.1),
        samples: rss.length,
        timeline: rss.filter((_, i) => i % 4 === 0).map((s) => [round((s.t - tStart) / 1000, 1), s.rssMb, s.replies]),
      },
      repliesPerSecond: stats.perSecond,
      instances,
      ...(instances > 1 ? { perInstance: measured.load.perInstance } : {}),
      ...(pgFigures ? { pg: pgFigures } : {}),
    }
  } finally {
    sampling = false
    await sampler
    await meter?.close()
    // The first instance drops the database: the others stop first.
    for (const other of others.reverse()) await other.stop()
    await gateway.stop()
  }
}

// --- photo: what an inbound photo costs ------------------------------------------------------------
/** Bytes the process had written to disk so far (`write_bytes` − `cancelled_write_bytes` of /proc/<pid>/io, all threads). */
function diskWriteBytes(pid) {
  try {
    const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')))
    return Number(io.write_bytes) - Number(io.cancelled_write_bytes)
  } catch {
    return NaN
  }
}

/** Files and bytes under the media folder (apparent and allocated), and files left in its temp folder. */
function mediaUsage(dir) {
  const usage = { files: 0, bytes: 0, allocated: 0, tempFiles: 0 }
  const walk = (path, temp) => {
    let names
    try {
      names = readdirSync(path)
    } catch {
      return
    }
    for (const name of names) {
      const child = join(path, name)
      const st = lstatSync(child)
      if (st.isDirectory()) walk(child, temp || name === '.tmp')
      else if (temp) usage.tempFiles++
      else {
        usage.files++
        usage.bytes += st.size
        usage.allocated += st.blocks * 512
      }
    }
  }
  walk(dir, false)
  return usage
}

/**
 * Photos against texts on one fresh `dist/main.js` (the e2e scenario's settings): a warm-up flood of each
 * kind, then `photoRounds` rounds of a text flood and a photo flood of photos/rounds messages each, every
 * flood drained before the next, so each one's CPU, disk writes and media bytes are its own and the two
 * kinds meet the same machine seconds apart. Then `probes` messages of each kind, alternating, one at a
 * time on the idle gateway: webhook POST to the reply at the fake Graph API.
 */
async function photoScenario(dialect, pools, graph) {
  await graph.reset()
  const gateway = await startGateway(dialect, 'main', graph)
  const pid = gateway.proc.pid
  const mediaDir = join(gateway.dataDir, 'media')
  const deadline = Date.now() + opt.drainTimeoutMs
  const rss = []
  let phase = 'warm-up'
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const bytes = rssBytes(pid)
      if (bytes !== null) rss.push({ phase, rssMb: round(bytes / MB, 1) })
      await sleep(250)
    }
  })()
  const floods = []
  const snapshot = async () => ({
    cpu: cpuSeconds(pid),
    main: mainThreadCpuSeconds(pid),
    disk: diskWriteBytes(pid),
    media: mediaUsage(mediaDir),
    stored: await gateway.counter.count('inbound'),
  })
  const flood = async (kind, n, label) => {
    phase = label
    const before = await snapshot()
    const run = await floodAndDrain(gateway, pools[kind], graph, n, `photo-${dialect}-${label}`, () => {}, deadline)
    const after = await snapshot()
    const replies = run.stats.unique - run.statsBefore.unique
    const seconds = ((run.stats.lastAt || Date.now()) - run.t0) / 1000
    const samples = rss.filter((r) => r.phase === label).map((r) => r.rssMb)
    const result = {
      kind,
      label,
      messages: n,
      acknowledged: run.load.requests,
      stored: after.stored - before.stored,
      replies,
      duplicates: run.stats.duplicates - run.statsBefore.duplicates,
      drained: run.drained,
      seconds,
      ingestSeconds: (run.ingestEnd - run.t0) / 1000,
      cpuSeconds: after.cpu - before.cpu,
      mainCpuSeconds: after.main - before.main,
      diskBytes: after.disk - before.disk,
      mediaFiles: after.media.files - before.media.files,
      mediaBytes: after.media.bytes - before.media.bytes,
      mediaAllocated: after.media.allocated - before.media.allocated,
      rssMaxMb: samples.length ? Math.max(...samples) : NaN,
    }
    floods.push(result)
    return result
  }
  try {
    say(`  warm-up: ${opt.photoWarmup} texts, ${opt.photoWarmup} photos`)
    if (opt.photoWarmup > 0) {
      await flood('text', opt.photoWarmup, 'warmup-text')
      await flood('photo', opt.photoWarmup, 'warmup-photo')
    }
    const perRound = Math.max(1, Math.round(opt.photos / opt.photoRounds))
    const runs = []
    for (let r = 1; r <= opt.photoRounds; r++) {
      const text = await flood('text', perRound, `r${r}-text`)
      const photo = await flood('photo', perRound, `r${r}-photo`)
      runs.push(text, photo)
      const rate = (x) => Math.round(x.replies / x.seconds)
      const cpu = (x) => Math.round((x.cpuSeconds * 1e6) / Math.max(1, x.replies))
      say(`  round ${r}/${opt.photoRounds}: text ${rate(text)} msg/s ${cpu(text)} µs/msg | photo ${rate(photo)} msg/s ${cpu(photo)} µs/msg`)
    }
    phase = 'probes'
    const probes = { text: [], photo: [] }
    for (let i = 0; i < opt.probes * 2; i++) {
      const kind = i % 2 === 0 ? 'text' : 'photo'
      // Lines no flood reaches; each database's gateway and fake Graph API start afresh, so they may repeat.
      const { tag, body, signature } = pools[kind].signedBody(PROBE_LINE + (i >> 1))
      const t0 = performance.now()
      const waiting = fetch(`${graph.base}/__bench/wait?tag=${tag}&timeout=20000`).then((r) => r.json())
      const posted = await fetch(`${gateway.baseUrl}${WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body })
      await posted.arrayBuffer()
      const { seen } = await waiting
      if (posted.status !== 200 || !seen) throw new Error(`photo probe ${kind} ${tag}: webhook HTTP ${posted.status}, reply ${seen ? 'seen' : 'not seen in 20 s'}`)
      probes[kind].push(performance.now() - t0)
      await sleep(50)
    }
    // Let a straggling duplicate (there should be none) show up.
    await sleep(1000)
    sampling = false
    await sampler
    const stats = await graph.stats()
    const counts = await gateway.counter.all()
    const media = mediaUsage(mediaDir)

    const sum = (xs, key) => xs.reduce((total, x) => total + x[key], 0)
    const summarize = (kind) => {
      const xs = runs.filter((x) => x.kind === kind)
      const replies = sum(xs, 'replies')
      const seconds = sum(xs, 'seconds')
      const latencies = [...probes[kind]].sort((a, b) => a - b)
      return {
        messages: sum(xs, 'messages'),
        stored: sum(xs, 'stored'),
        replies,
        lost: sum(xs, 'stored') - replies,
        duplicates: sum(xs, 'duplicates'),
        acknowledgedNotStored: Math.max(0, sum(xs, 'acknowledged') - sum(xs, 'stored')),
        drained: xs.every((x) => x.drained),
        seconds: round(seconds, 1),
        messagesPerSecond: round(replies / seconds),
        ingestMessagesPerSecond: round(sum(xs, 'stored') / sum(xs, 'ingestSeconds')),
        cpuUsPerMessage: round((sum(xs, 'cpuSeconds') * 1e6) / Math.max(1, replies), 1),
        mainCpuUsPerMessage: round((sum(xs, 'mainCpuSeconds') * 1e6) / Math.max(1, replies), 1),
        cores: round(sum(xs, 'cpuSeconds') / seconds, 2),
        diskBytesPerMessage: round(sum(xs, 'diskBytes') / Math.max(1, replies)),
        mediaFiles: sum(xs, 'mediaFiles'),
        mediaBytesPerMessage: round(sum(xs, 'mediaBytes') / Math.max(1, replies)),
        mediaAllocatedPerMessage: round(sum(xs, 'mediaAllocated') / Math.max(1, replies)),
        rssMaxMb: round(Math.max(...xs.map((x) => x.rssMaxMb)), 1),
        probeMs: { p50: round(median(latencies), 1), p90: round(latencies[Math.floor(latencies.length * 0.9)] ?? NaN, 1), n: latencies.length },
      }
    }
    const text = summarize('text')
    const photo = summarize('photo')
    const perRoundRatio = (key) =>
      round(median(runs.filter((x) => x.kind === 'photo').map((p, i) => {
        const t = runs.filter((x) => x.kind === 'text')[i]
        return key === 'rate' ? p.replies / p.seconds / (t.replies / t.seconds) : (p.cpuSeconds / p.replies) / (t.cpuSeconds / t.replies)
      })), 3)
    const result = {
      photoBytes: opt.photoBytes,
      rounds: opt.photoRounds,
      warmup: opt.photoWarmup,
      textBodyBytes: pools.text.meanBodyBytes,
      photoBodyBytes: pools.photo.meanBodyBytes,
      text,
      photo,
      extra: {
        cpuUsPerMessage: round(photo.cpuUsPerMessage - text.cpuUsPerMessage, 1),
        mainCpuUsPerMessage: round(photo.mainCpuUsPerMessage - text.mainCpuUsPerMessage, 1),
        cpuRatio: round(photo.cpuUsPerMessage / text.cpuUsPerMessage, 2),
        cpuRatioPerRound: perRoundRatio('cpu'),
        throughputRatio: round(photo.messagesPerSecond / text.messagesPerSecond, 3),
        throughputRatioPerRound: perRoundRatio('rate'),
        // At full load, the wall time a message takes of the gateway's throughput.
        msPerMessageAtLoad: round(1000 / photo.messagesPerSecond - 1000 / text.messagesPerSecond, 3),
        probeMs: round(photo.probeMs.p50 - text.probeMs.p50, 1),
        diskBytesPerMessage: round(photo.diskBytesPerMessage - text.diskBytesPerMessage),
        rssMaxMb: round(photo.rssMaxMb - text.rssMaxMb, 1),
      },
      // Every flood, warm-ups included, in order.
      floods: floods.map((x) => ({
        label: x.label,
        replies: x.replies,
        msgPerSecond: round(x.replies / x.seconds),
        cpuUsPerMessage: round((x.cpuSeconds * 1e6) / Math.max(1, x.replies), 1),
        mainCpuUsPerMessage: round((x.mainCpuSeconds * 1e6) / Math.max(1, x.replies), 1),
        seconds: round(x.seconds, 2),
        ingestSeconds: round(x.ingestSeconds, 2),
        diskKbPerMessage: round(x.diskBytes / 1024 / Math.max(1, x.replies), 1),
        rssMaxMb: x.rssMaxMb,
      })),
      check: {
        storedInbound: counts.inbound,
        repliesUnique: stats.unique,
        lost: counts.inbound - stats.unique,
        duplicates: stats.duplicates,
        untagged: stats.untagged,
        readReceipts: stats.readReceipts,
        deadJobs: counts.jobsDead,
        photosStored: counts.inboundImages,
        mediaRows: counts.media,
        mediaFiles: media.files,
        downloads: stats.downloads,
        mediaLookups: stats.mediaInfos,
        refused: stats.refused,
        unknownMedia: stats.unknownMedia,
        tempFilesLeft: media.tempFiles,
      },
    }
    const c = result.check
    c.ok =
      c.lost === 0 && c.duplicates === 0 && c.untagged === 0 && c.deadJobs === 0 && c.refused === 0 && c.unknownMedia === 0 &&
      c.mediaRows === c.photosStored && c.mediaFiles === c.photosStored && c.downloads === c.photosStored && c.tempFilesLeft === 0 &&
      text.drained && photo.drained && text.acknowledgedNotStored === 0 && photo.acknowledgedNotStored === 0
    return result
  } finally {
    sampling = false
    await sampler
    await gateway.stop()
  }
}

// --- the run ---------------------------------------------------------------------------------------
/** The commit the run measured, and the files under src/ that differed from it (dist/ is built from the work tree). */
function commitOf() {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' })
  return { head: head.stdout?.trim() || null, srcChanged: (dirty.stdout ?? '').split('\n').filter(Boolean).map((l) => l.slice(3)) }
}

const results = {
  startedAt: startedAt.toISOString(),
  commit: commitOf(),
  machine: {
    cpus: machineCpus,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: release(),
    wrk: wrkVersion,
    loadAverageAtStart: loadavg().map((x) => round(x, 2)),
  },
  method: {
    loadGenerator: `wrk -t1 -c${opt.connections}, keep-alive, loopback, pre-signed unique bodies (bench/wrk/signed-bodies.lua)`,
    pinning: hasTaskset ? `servers on cores ${SERVER_CPU}; wrk, fake Graph API and runner on core ${LOAD_CPU}` : 'none (no taskset)',
    seconds: opt.seconds,
    rounds: opt.rounds,
    batchRounds: opt.batchRounds,
    warmupSeconds: opt.warmup,
    numbers: opt.numbers,
    users: opt.users,
    e2eMessages: opt.messages,
    photo: `${opt.photos} photos of ${opt.photoBytes} bytes and as many texts, ${opt.photoRounds} round(s) after ${opt.photoWarmup} of each; ${opt.probes} probes of each`,
    typingIndicator: args['typing-indicator'],
    instances: opt.instances,
    ...(opt.scenarios.has('flood') ? { flood: opt.flood } : {}),
    sqlite: 'WAL, synchronous=FULL, on the machine disk (tmpdir)',
    postgres: PG_ADMIN_URL.replace(/\/[^/]*$/, '/<fresh database>'),
  },
  ingest: {},
  batch: {},
  e2e: {},
  photo: {},
  broadcast: {},
  events: {},
  e2eInstances: {},
  flood: {},
  notes: [],
}

async function main() {
  if (opt.dbs.includes('postgres') && (await postgresAnswers())) {
    const dropped = await dropLeftoverDatabases()
    if (dropped.length > 0) say(`dropped ${dropped.length} database(s) left by an interrupted bench: ${dropped.join(', ')}`)
  }
  if (opt.dbs.includes('postgres') && !(await postgresAnswers())) {
    const note = `PostgreSQL at ${PG_ADMIN_URL} does not answer: PostgreSQL scenarios SKIPPED`
    say(`\n*** ${note} ***\n`)
    results.notes.push(note)
    opt.dbs = opt.dbs.filter((d) => d !== 'postgres')
  }
  say(`Switchboard bench: ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${process.version}, ${wrkVersion}`)
  say(`work folder ${work}; load average ${results.machine.loadAverageAtStart.join(' ')}`)
  say(`commit ${results.commit.head}${results.commit.srcChanged.length ? ` with ${results.commit.srcChanged.length} changed file(s) under src/ (dist/ is built from the work tree)` : ''}`)

  const poolOf = (kind) => new BodyPool({ file: join(work, `${kind}.bodies`), kind, appSecret, runTag: `${runTag}${kind[0]}`, numbers, users: opt.users })
  const single = poolOf('single')
  const batch = poolOf('batch')
  // The photo scenario's own pools: its texts and photos reach one fake Graph API between resets.
  const photoPools = opt.scenarios.has('photo')
    ? {
        text: new BodyPool({ file: join(work, 'photo-text.bodies'), kind: 'single', appSecret, runTag: `${runTag}t`, numbers, users: opt.users }),
        photo: new BodyPool({ file: join(work, 'photo.bodies'), kind: 'photo', appSecret, runTag: `${runTag}p`, numbers, users: opt.users, tagBase: PHOTO_TAG_BASE, photos: photoSet(opt.photoBytes) }),
      }
    : null
  // The baselines read from the start of the files and wrap around; they need some bodies from the start.
  single.grow(quick ? 10_000 : 40_000)
  batch.grow(quick ? 300 : 1_000)
  const graph = await startFakeGraph()
  const bare = await startBaseline('bare')
  const receiver = await startBaseline('receiver')

  for (const dialect of opt.dbs) {
    if (opt.scenarios.has('ingest') || opt.scenarios.has('batch')) {
      say(`\n[${dialect}] ingest: gateway without its worker (bench/gateway.mjs), ${opt.numbers} channels`)
      const gateway = await startGateway(dialect, 'ingest', graph)
      try {
        const storedBefore = await gateway.counter.count('inbound')
        if (opt.scenarios.has('ingest')) {
          results.ingest[dialect] = await alternate([bare, receiver, gateway], single, { rounds: opt.rounds, messagesPerPost: 1, label: `ingest-${dialect}` })
        }
        if (opt.scenarios.has('batch')) {
          results.batch[dialect] = await alternate([bare, receiver, gateway], batch, { rounds: opt.batchRounds, messagesPerPost: 100, label: `batch-${dialect}` })
        }
        // Every 200 must have been committed: what is stored covers every message answered, and no more
        // than was sent (a request in flight when wrk stopped may have been stored without its answer read).
        const stored = (await gateway.counter.count('inbound')) - storedBefore
        const answered = [results.ingest[dialect], results.batch[dialect]].reduce((sum, r) => sum + (r?.gatewayTotals.answeredMessages ?? 0), 0)
        const sent = [results.ingest[dialect], results.batch[dialect]].reduce((sum, r) => sum + (r?.gatewayTotals.sentMessages ?? 0), 0)
        const check = { stored, answered, sent, ok: stored >= answered && stored <= sent, gatewayRssMb: round(rssBytes(gateway.proc.pid) / MB, 1) }
        results.ingestStoreCheck = { ...results.ingestStoreCheck, [dialect]: check }
        say(`  store check: ${stored} messages stored, ${answered} answered 200, ${sent} sent: ${check.ok ? 'ok' : 'MISMATCH'}`)
        if (!check.ok) throw new Error(`[${dialect}] ingest store check failed: ${JSON.stringify(check)}`)
      } finally {
        await gateway.stop()
      }
    }
    if (opt.scenarios.has('e2e')) {
      // SQLite is for one process (ARCHITECTURE.md): several instances are PostgreSQL's.
      const counts = dialect === 'postgres' ? opt.instances : [1]
      if (dialect === 'postgres' && opt.pgStats && !pgStatStatements.loaded) {
        pgStatStatements = await enablePgStatStatements(say)
        say(`  ${pgStatStatements.note}`)
        if (pgStatStatements.restarted || !pgStatStatements.loaded) results.notes.push(pgStatStatements.note)
      }
      for (const instances of counts) {
        say(
          `\n[${dialect}] end to end: dist/main.js${instances > 1 ? ` ×${instances} on one database` : ''}, echo bot, ${opt.numbers} channels at 1000 msg/s each, ` +
            `up to ${opt.messages} messages or ${opt.e2eSeconds} s`,
        )
        // The minimal receiver just before, for this run's ratio (SPEC §8: SQLite end to end ≥ 0.2× it).
        const receiverRun = await measure(receiver, single, quick ? 3 : 5, { label: `e2e-${dialect}-receiver` })
        const e2e = await endToEnd(dialect, single, graph, { instances })
        e2e.receiverRps = receiverRun.rps
        e2e.vsReceiver = round(e2e.messagesPerSecond / Math.max(1, receiverRun.rps), 3)
        if (results.e2e[dialect] === undefined) results.e2e[dialect] = e2e
        if (dialect === 'postgres') (results.e2eInstances[dialect] ??= []).push(e2e)
        say(
          `  ${e2e.uniqueReplies}/${e2e.stored} replied, ${e2e.messagesPerSecond} msg/s end to end (ingest ${e2e.ingestMessagesPerSecond}/s, ` +
            `drain ${e2e.drainSeconds} s), lost ${e2e.lost}, duplicated ${e2e.duplicates}, RSS ${e2e.memory.minMb}–${e2e.memory.maxMb} MB`,
        )
        if (e2e.pg) say(`  ${pgSentence(e2e)}`)
      }
    }
    if (opt.scenarios.has('flood')) {
      say(`\n[${dialect}] flood: signed webhooks at ${opt.flood.signedRate}/s alone and beside ${opt.flood.clients} clients posting unsigned or wrongly signed ~${opt.flood.mb} MB bodies (${opt.flood.kinds.join(', ')})`)
      const r = await floodScenario(dialect, {
        startGateway, graph, say, logFile, rssBytes, cpuSeconds, mainThreadCpuSeconds, work, appSecret, numbers, machineCpus,
        users: opt.users, runTag: `${runTag}f`, cpu: LOAD_CPU, webhookPath: WEBHOOK_PATH, ...opt.flood,
      })
      results.flood[dialect] = r
      say(`  ${floodSentence(r)}`)
      say(`  check: ${JSON.stringify(r.check)}`)
    }
    if (opt.scenarios.has('events')) {
      say(`\n[${dialect}] events: end to end without and with one subscription to every event type (a local receiver)`)
      const r = await eventsScenario(dialect, {
        endToEnd: (db, hooks) => endToEnd(db, single, graph, hooks),
        without: results.e2e[dialect], adminToken, cpuSeconds, mainThreadCpuSeconds, logFile, cpu: LOAD_CPU, say,
      })
      results.events[dialect] = r
      say(`  ${eventsSentence(r)}`)
      say(`  check: ${JSON.stringify(r.check)}`)
    }
    if (opt.scenarios.has('broadcast')) {
      const recipients = quick ? 5_000 : Number(args.recipients)
      say(`\n[${dialect}] broadcast: ${recipients} recipients of one template, dist/main.js, channels at throughput_mps 1000 (the API maximum; the pacer caps a channel there)`)
      const r = await broadcastScenario(dialect, {
        startGateway, graph, adminToken, cpuSeconds, mainThreadCpuSeconds, rssBytes, say,
        recipients, channels: Number(args['broadcast-channels']), deadlineMs: opt.drainTimeoutMs,
      })
      results.broadcast[dialect] = r
      say(`  ${broadcastSentence(r, results.e2e[dialect]?.messagesPerSecond)}`)
      say(`  check: ${JSON.stringify(r.check)}`)
    }
    if (opt.scenarios.has('photo')) {
      say(`\n[${dialect}] photo: ${Math.round(opt.photoBytes / 1024)} KB photos fetched (Graph lookup + download) and stored before the echo bot, beside texts; ${opt.photos} of each`)
      const r = await photoScenario(dialect, photoPools, graph)
      results.photo[dialect] = r
      say(`  ${photoSentence(r)}`)
      say(`  check: ${JSON.stringify(r.check)}`)
    }
  }
  await Promise.all([bare.proc.stop(), receiver.proc.stop(), graph.proc.stop()])
}

/** "a 100 KB photo costs X µs CPU …": the photo scenario in one sentence. */
function photoSentence(r) {
  const kb = Math.round(r.photoBytes / 1024)
  return (
    `a ${kb} KB photo costs ${r.extra.cpuUsPerMessage} µs CPU more than a text (${r.photo.cpuUsPerMessage} vs ${r.text.cpuUsPerMessage} µs, ${r.extra.cpuRatio}×) ` +
    `and ${r.extra.probeMs} ms more webhook to reply on an idle gateway (p50 ${r.photo.probeMs.p50} vs ${r.text.probeMs.p50} ms); ` +
    `throughput ${r.extra.throughputRatio}× of text (${r.photo.messagesPerSecond} vs ${r.text.messagesPerSecond} msg/s); ` +
    `${Math.round(r.photo.mediaBytesPerMessage / 1024)} KB stored under media/ and ${Math.round(r.extra.diskBytesPerMessage / 1024)} KB more written to disk by the gateway per photo`
  )
}

function targets() {
  const out = []
  for (const [dialect, r] of Object.entries(results.ingest)) {
    out.push({
      target: `ingest ≥ 0.6× minimal receiver, p99 < 50 ms (${dialect})`,
      measured: `${r.gateway.vsReceiver}×, p99 ${r.gateway.p99Ms} ms`,
      met: r.gateway.vsReceiver >= 0.6 && r.gateway.p99Ms < 50 && r.gateway.errors === 0,
    })
  }
  for (const [dialect, r] of Object.entries(results.e2e)) {
    const exact = r.lost === 0 && r.duplicates === 0 && r.untagged === 0 && r.drained && r.stored >= r.acknowledged
    out.push({
      target: dialect === 'sqlite' ? 'end to end ≥ 3,000 msg/s on SQLite, none lost or duplicated' : `end to end none lost or duplicated (${dialect}; no rate target)`,
      measured: `${r.messagesPerSecond} msg/s, lost ${r.lost}, duplicated ${r.duplicates}${r.drained ? '' : ', NOT drained'}`,
      met: exact && (dialect !== 'sqlite' || r.messagesPerSecond >= 3000),
    })
    if (dialect === 'sqlite' && r.vsReceiver !== undefined) {
      out.push({ target: 'end to end ≥ 0.2× the minimal receiver (sqlite)', measured: `${r.vsReceiver}× (${r.messagesPerSecond} msg/s against ${Math.round(r.receiverRps)} req/s)`, met: r.vsReceiver >= 0.2 })
    }
    const sqlite = results.e2e.sqlite
    if (dialect === 'postgres' && sqlite !== undefined) {
      const ratio = round(r.messagesPerSecond / Math.max(1, sqlite.messagesPerSecond), 3)
      out.push({ target: 'PostgreSQL end to end ≥ 0.8× SQLite per instance, same run', measured: `${ratio}× (${r.messagesPerSecond} against ${sqlite.messagesPerSecond} msg/s)`, met: ratio >= 0.8 })
    }
    out.push({
      target: `memory flat, under 256 MB through 100,000 messages (${dialect})`,
      measured: `${r.memory.minMb}–${r.memory.maxMb} MB, final ${r.memory.finalMb} MB, growth ${r.memory.growthMb} MB through ${r.memory.messages} messages`,
      met: r.memory.maxMb < 256 && r.memory.flat && r.memory.messages >= 100_000,
    })
  }
  for (const [dialect, r] of Object.entries(results.photo)) {
    out.push({
      target: `photo end to end: none lost or duplicated, every photo fetched once and stored (${dialect}; no rate target)`,
      measured: `${r.photo.replies} photos and ${r.text.replies} texts replied; lost ${r.check.lost}, duplicated ${r.check.duplicates}, ${r.check.mediaRows} media for ${r.check.photosStored} photos, ${r.check.downloads} downloads`,
      met: r.check.ok,
    })
  }
  out.push(...floodTargets(results))
  out.push(...broadcastTargets(results))
  out.push(...eventsTargets(results))
  return out
}

function table() {
  const rows = [['scenario', 'db', 'server', 'req/s', 'msg/s', 'p50 ms', 'p99 ms', 'cores', 'cpu µs/req', 'main µs/req', '× bare', '× receiver', 'errors']]
  for (const [name, group] of [['ingest', results.ingest], ['batch ×100', results.batch]]) {
    for (const [dialect, r] of Object.entries(group)) {
      for (const key of ['bare', 'receiver', 'gateway']) {
        const s = r[key]
        const vsBare = key === 'gateway' ? s.vsBare : key === 'receiver' ? r.receiverVsBare : 1
        rows.push([name, dialect, key === 'gateway' ? 'switchboard' : key === 'bare' ? 'bare node:http' : 'minimal receiver', s.rps, s.messagesPerSecond, s.p50Ms, s.p99Ms, s.cpu, s.cpuUsPerRequest, s.mainCpuUsPerRequest, vsBare, key === 'gateway' ? s.vsReceiver : key === 'receiver' ? 1 : '', s.errors || '']
          .map((v) => (v === null || v === undefined ? '' : String(v))))
      }
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const lines = rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  const e2eRows = [['end to end', 'messages', 'stored', 'replied', 'lost', 'dup', 'msg/s', '× sqlite', '× receiver', 'steady/s', 'ingest/s', 'drain s', 'cpu µs/msg', 'main µs/msg', 'stmts/msg', 'RSS min–max MB', 'flat']]
  for (const [dialect, r] of Object.entries(results.e2e)) {
    const vsSqlite = results.e2e.sqlite === undefined ? '' : round(r.messagesPerSecond / Math.max(1, results.e2e.sqlite.messagesPerSecond), 3)
    e2eRows.push([dialect, r.messages, r.stored, r.uniqueReplies, r.lost, r.duplicates, r.messagesPerSecond, vsSqlite, r.vsReceiver ?? '', r.steadyRepliesPerSecond, r.ingestMessagesPerSecond, r.drainSeconds, r.cpuUsPerMessage, r.mainCpuUsPerMessage, r.pg?.statements?.perMessage ?? '', `${r.memory.minMb}–${r.memory.maxMb}`, r.memory.flat ? 'yes' : 'NO'].map(String))
  }
  const w2 = e2eRows[0].map((_, i) => Math.max(...e2eRows.map((r) => r[i].length)))
  const e2eLines = e2eRows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w2[i]) : c.padStart(w2[i]))).join('  '))
  e2eLines.splice(1, 0, w2.map((w) => '-'.repeat(w)).join('  '))
  const photoRows = [['photo vs text', 'kind', 'stored', 'replied', 'lost', 'dup', 'msg/s', 'cores', 'cpu µs/msg', 'main µs/msg', 'disk KB/msg', 'media KB/msg', 'RSS max MB', 'idle p50 ms', 'idle p90 ms']]
  for (const [dialect, r] of Object.entries(results.photo)) {
    for (const kind of ['text', 'photo']) {
      const x = r[kind]
      photoRows.push([dialect, kind, x.stored, x.replies, x.lost, x.duplicates, x.messagesPerSecond, x.cores, x.cpuUsPerMessage, x.mainCpuUsPerMessage, round(x.diskBytesPerMessage / 1024, 1), round(x.mediaBytesPerMessage / 1024, 1), x.rssMaxMb, x.probeMs.p50, x.probeMs.p90].map(String))
    }
  }
  const w3 = photoRows[0].map((_, i) => Math.max(...photoRows.map((r) => r[i].length)))
  const photoLines = photoRows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w3[i]) : c.padStart(w3[i]))).join('  '))
  photoLines.splice(1, 0, w3.map((w) => '-'.repeat(w)).join('  '))
  const sentences = Object.entries(results.photo).map(([dialect, r]) => `${dialect}: ${photoSentence(r)}`)
  return [
    ...lines,
    '',
    ...(e2eRows.length > 1 ? e2eLines : []),
    ...(photoRows.length > 1 ? ['', ...photoLines, '', ...sentences] : []),
    ...(Object.keys(results.broadcast).length > 0 ? ['', ...broadcastTable(results)] : []),
    ...(Object.keys(results.events).length > 0 ? ['', ...eventsTable(results)] : []),
    ...((results.e2eInstances.postgres ?? []).some((r) => r.pg) ? ['', ...pgTables(results.e2eInstances.postgres)] : []),
    ...(Object.keys(results.flood).length > 0 ? ['', ...floodTable(results)] : []),
  ].join('\n')
}

let failed = false
try {
  await main()
} catch (error) {
  failed = true
  results.error = error instanceof Error ? error.message : String(error)
  process.stderr.write(`\nbench: FAILED: ${results.error}\nlogs: ${logs}\n`)
} finally {
  killAll()
  for (const cleanup of cleanups) await cleanup().catch(() => {})
}
results.machine.loadAverageAtEnd = loadavg().map((x) => round(x, 2))
results.pgStatStatements = pgStatStatements
results.finishedAt = new Date().toISOString()
results.seconds = round((Date.now() - startedAt.getTime()) / 1000, 1)
results.targets = targets()
// An interrupted run keeps the last complete results.
if (aborting) await sleep(60_000)
writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`)
say(`\n${table()}\n`)
for (const t of results.targets) say(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.measured}`)
say(`\nload average start ${results.machine.loadAverageAtStart.join(' ')}, end ${results.machine.loadAverageAtEnd.join(' ')} (other work on the machine shows here)`)
say(`${results.seconds} s; results in ${args.out}${opt.cpuProf ? `; CPU profiles in ${profileDir}` : ''}`)
if (!args.keep && !failed) rmSync(work, { recursive: true, force: true })
else {
  if (!args.keep) removeBulk()
  say(`work folder kept: ${work}`)
}
process.exit(failed ? 1 : 0)
