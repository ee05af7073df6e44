// `npm start` runs this first: it compiles `src/` into `dist/` only when `dist/` is missing or older
// than a source file (or the build settings), so a second start on a built tree starts at once.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

/** The newest modification time under `dir` (files only), 0 when it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return 0
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const time = entry.isDirectory() ? newest(path) : statSync(path).mtimeMs
    if (time > latest) latest = time
  }
  return latest
}

const built = join(root, 'dist/main.js')
const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.build.json')).mtimeMs, statSync(join(root, 'package-lock.json')).mtimeMs)
if (existsSync(built) && statSync(built).mtimeMs >= sources && newest(join(root, 'dist')) >= sources) process.exit(0)

process.stdout.write('switchboard: compiling src/ into dist/ (only when the sources changed)…\n')
const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
process.exit(result.status ?? 1)
