/** Runs wrk with `wrk/signed-bodies.lua` and reads the `BENCH {json}` line its done() prints. */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { start } from './procs.mjs'

export const LUA_SCRIPT = fileURLToPath(new URL('../wrk/signed-bodies.lua', import.meta.url))

/** Exits with install instructions when wrk is missing. */
export function requireWrk() {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' })
  if (probe.error && probe.error.code === 'ENOENT') {
    process.stderr.write(
      'bench: wrk is not installed. It is the load generator of every scenario (autocannon tops out below these servers).\n' +
        '  Debian/Ubuntu: sudo apt-get install -y wrk      (as root: apt-get update && apt-get install -y wrk)\n',
    )
    process.exit(69)
  }
  return (probe.stdout + probe.stderr).split('\n')[0].trim()
}

/**
 * Starts wrk (one thread: the Lua script streams one file) and returns its process; `result()` waits for
 * it and returns the parsed summary. `limit`/`marker`: stop after that many requests and touch the marker.
 */
export function startWrk({ url, path, file, startByte, mode, seconds, connections, cpu, logFile, limit = 0, marker = '', timeoutSeconds = 10 }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, `--timeout`, `${timeoutSeconds}s`, '-s', LUA_SCRIPT, url, '--', file, String(startByte), mode, path]
  if (limit > 0) args.push(String(limit), marker)
  const proc = start('wrk', 'wrk', args, { cpu, logFile })
  return {
    proc,
    async result() {
      const { code, signal } = await proc.exited
      const output = readFileSync(logFile, 'utf8')
      const line = output.split('\n').find((l) => l.startsWith('BENCH '))
      if (!line) throw new Error(`wrk ended (code ${code}, signal ${signal}) without a summary:\n${output.slice(-2000)}`)
      const summary = JSON.parse(line.slice('BENCH '.length))
      summary.rps = summary.requests / (summary.duration_us / 1e6)
      return summary
    },
  }
}

/** Runs wrk for `seconds` and returns its summary. */
export async function runWrk(options) {
  return startWrk(options).result()
}
