// Runs every *.test.ts under src/ and test/ with node's test runner (Node 20 has no --test globs).
// Two phases: the fast suites two files at a time, then the suites that start whole server processes
// or a browser (test/crash, test/browser) one file at a time, so their load never starves the timing
// of the others.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

function findTests(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...findTests(path))
    else if (name.endsWith('.test.ts')) found.push(path)
  }
  return found
}

function run(files, concurrency) {
  if (files.length === 0) return 0
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...files],
    { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
  )
  return result.status ?? 1
}

const only = process.argv.slice(2)
if (only.length > 0) process.exit(run(only, 2))

const all = [...findTests('src'), ...findTests('test')].sort()
const heavy = all.filter((file) => /^test[/\\](crash|browser)[/\\]/.test(file))
const light = all.filter((file) => !heavy.includes(file))
const lightStatus = run(light, 2)
const heavyStatus = run(heavy, 1)
process.exit(lightStatus !== 0 ? lightStatus : heavyStatus)
