/**
 * The benchmark's child processes: each runs in its own process group (detached), pinned to a core with
 * `taskset`, its output in a log file. Every one started is remembered and killed, group and all, when
 * the run ends for any reason (normal end, exception, Ctrl-C, the global time limit).
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const live = new Set()

/** Kills every process group still running (synchronous: usable from an 'exit' handler). */
export function killAll(signal = 'SIGKILL') {
  for (const child of live) {
    try {
      process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
  live.clear()
}

let handlersInstalled = false
function installHandlers() {
  if (handlersInstalled) return
  handlersInstalled = true
  // Whatever ends this process (the runner's own signal handlers and time limit call process.exit),
  // the children go with it.
  process.on('exit', () => killAll())
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Whether `taskset` exists (util-linux); without it processes run unpinned. */
export const hasTaskset = spawnSync('taskset', ['-V']).status === 0

/**
 * Starts `command args` on `cpu` (a taskset list like "0"), in its own process group, with `env` added
 * to this process's environment and output going to `logFile`.
 */
export function start(name, command, args, { cpu, env = {}, logFile }) {
  installHandlers()
  const out = openSync(logFile, 'a')
  const argv = hasTaskset && cpu !== undefined ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]
  const child = spawn(argv[0], argv[1], { detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...env } })
  closeSync(out)
  live.add(child)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  child.once('exit', () => live.delete(child))
  return {
    name,
    pid: child.pid,
    child,
    exited,
    logFile,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8')
      } catch {
        return ''
      }
    },
    /** SIGTERM to the group, SIGKILL after `graceMs`. */
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        return exited
      }
      const timer = sleep(graceMs).then(() => 'timeout')
      if ((await Promise.race([exited, timer])) === 'timeout') {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
      return exited
    },
    /** Sends `signal` to the process itself (wrk prints its summary on SIGINT). */
    signal(signal) {
      try {
        process.kill(child.pid, signal)
      } catch {
        // gone
      }
    },
  }
}

/** Polls `url` until it answers 200, the process dies, or `timeoutMs` passes. */
export async function waitForHttp(proc, url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  let died = false
  proc.exited.then(() => {
    died = true
  })
  for (;;) {
    if (died) throw new Error(`${proc.name} exited before answering ${url}; its log (${proc.logFile}):\n${proc.log().slice(-3000)}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs} ms; its log (${proc.logFile}):\n${proc.log().slice(-3000)}`)
    await sleep(100)
  }
}

/** Resident set size of `pid` in bytes (VmRSS of /proc/<pid>/status), or null when it is gone. */
export function rssBytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Polls until a TCP connection to 127.0.0.1:`port` succeeds. */
export async function waitForPort(proc, port, timeoutMs = 15_000) {
  const { connect } = await import('node:net')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited; its log (${proc.logFile}):\n${proc.log().slice(-3000)}`)
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms`)
    await sleep(50)
  }
}
