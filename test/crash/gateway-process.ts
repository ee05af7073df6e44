/**
 * `GatewayProcess`: the real server as a child process, for tests that kill it.
 *
 * Entry point: `node --import tsx src/main.ts`, the module `npm start` runs as `dist/main.js` after
 * `tsc` (tsc emits one file per module, so it is the same code, from source). Why not the build: a
 * `tsc -p tsconfig.build.json` costs ~11 s of the CI budget on 2 cores, a stale `dist/` would test old
 * code, and one file mid-edit elsewhere in the tree would fail the build for every crash test. Why not
 * the `tsx` CLI: it runs the program in a second process, so a signal would hit the wrapper; with
 * `--import tsx` the child IS the gateway, and `SIGKILL`/`SIGTERM` reach `main.ts` directly (its pid is
 * also the pid in the runner's `workerId`). `SWITCHBOARD_CRASH_ENTRY=dist` runs `node dist/main.js`
 * instead, for a CI job that builds first.
 *
 * The child gets a clean environment (PATH plus what the test gives), never the test's own, so a
 * `DATABASE_URL` in the developer's shell cannot point a crash test at a real database. Every child is
 * registered until it exits; `killAllGatewayProcesses` (call it in `finally`) and a process `exit`
 * hook SIGKILL the rest, so no test leaves an orphan behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The command line after `node`. */
function entryArgs(): string[] {
  return process.env.SWITCHBOARD_CRASH_ENTRY === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts']
}

/** One JSON log line of the child, as pino wrote it. */
export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

const live = new Set<GatewayProcess>()
process.on('exit', () => {
  // The last line of defence: a test that threw past its `finally` must not leave a server running.
  for (const child of live) child.kill('SIGKILL')
})
// A signal ends this process without an `exit` event: kill the children first, then die of it as before.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL')
    process.kill(process.pid, signal)
  })
}

/** SIGKILLs every child still running and waits for them to exit. */
export async function killAllGatewayProcesses(): Promise<void> {
  await Promise.all([...live].map((child) => child.stopHard()))
}

/** How a child ended. */
export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A running gateway child process. */
export class GatewayProcess {
  readonly name: string
  readonly pid: number
  /** `http://127.0.0.1:<port>`, known once `gateway:started` was logged. */
  baseUrl = ''
  port = 0
  /** The runner's `workerId` (written to `jobs.locked_by`), from its `runner:started` line. */
  workerId = ''
  /** Every JSON log line so far (the test keeps LOG_LEVEL at info, so they are few). */
  readonly lines: LogLine[] = []
  /** Non-JSON output (stderr, a crash's stack), kept for failure messages. */
  readonly rawOutput: string[] = []
  /** Resolves when the process has exited. */
  readonly exited: Promise<ProcessExit>
  exit: ProcessExit | undefined

  readonly #child: ChildProcess
  readonly #watchers = new Set<() => void>()

  private constructor(name: string, child: ChildProcess) {
    this.name = name
    this.#child = child
    this.pid = child.pid ?? -1
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal }
        live.delete(this)
        this.#notify()
        resolve(this.exit)
      })
    })
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue
      createInterface({ input: stream }).on('line', (line) => this.#onLine(line))
    }
  }

  /**
   * Starts `node src/main.ts` with exactly `env` (plus PATH) and resolves once it listens. `PORT=0` is
   * the usual choice: the port is read from the `gateway:started` line.
   */
  static async start(
    name: string,
    env: Record<string, string>,
    options: { timeoutMs?: number; /** e.g. `['--cpu-prof']` to profile a child */ nodeArgs?: string[] } = {},
  ): Promise<GatewayProcess> {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entryArgs()], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const gateway = new GatewayProcess(name, child)
    live.add(gateway)
    try {
      const started = await gateway.waitForLog((line) => line.msg === 'gateway:started', options.timeoutMs ?? 60_000)
      gateway.port = Number(started.port)
      gateway.baseUrl = `http://127.0.0.1:${gateway.port}`
    } catch (error) {
      await gateway.stopHard()
      throw error
    }
    return gateway
  }

  get alive(): boolean {
    return this.exit === undefined
  }

  /** Sends a signal (no-op once exited). */
  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.#child.kill(signal)
  }

  /** SIGKILL and wait for the exit. */
  async stopHard(): Promise<ProcessExit> {
    this.kill('SIGKILL')
    return this.exited
  }

  /** Resolves with the first log line (past or future) that matches; rejects on exit or timeout. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.lines.find(match)
        if (found) return finish(() => resolve(found))
        if (!this.alive) finish(() => reject(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before the expected log line:\n${this.tail()}`)))
      }
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms:\n${this.tail()}`))), timeoutMs)
      const finish = (then: () => void): void => {
        clearTimeout(timer)
        this.#watchers.delete(check)
        then()
      }
      this.#watchers.add(check)
      check()
    })
  }

  /** Log lines whose message is `msg`. */
  logged(msg: string): LogLine[] {
    return this.lines.filter((line) => line.msg === msg)
  }

  /** The last lines of output, for a failure message. */
  tail(count = 20): string {
    const json = this.lines.slice(-count).map((line) => JSON.stringify(line))
    return [...json, ...this.rawOutput.slice(-count)].join('\n')
  }

  #onLine(line: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      parsed = undefined
    }
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as LogLine).msg === 'string') {
      const entry = parsed as LogLine
      this.lines.push(entry)
      // The message flow's runner (event deliveries have a runner of their own, queue `events`).
      if (entry.msg === 'runner:started' && typeof entry.workerId === 'string' && entry.queue !== 'events') this.workerId = entry.workerId
    } else if (line.trim() !== '') {
      this.rawOutput.push(line)
    }
    this.#notify()
  }

  #notify(): void {
    for (const watcher of [...this.#watchers]) watcher()
  }
}

/** Waits for `child` to exit, at most `timeoutMs`; resolves undefined when it is still running. */
export async function exitWithin(child: GatewayProcess, timeoutMs: number): Promise<ProcessExit | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([child.exited, new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs)
      })])
  } finally {
    clearTimeout(timer)
  }
}
