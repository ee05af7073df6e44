/**
 * The import rules of ARCHITECTURE.md, enforced: each folder of src/ may import only the folders its
 * row allows, and a few global rules hold (process.env only in config.ts, Date.now() only in
 * core/clock.ts, no default exports, SQL only in store/, dialects only through store/db.ts).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'

const SRC = new URL('../src/', import.meta.url).pathname

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : []
  })
}

/** The top-level module of a src-relative path: `core`, `store`, `providers`, … or the file name at the root. */
function moduleOf(srcRelative: string): string {
  const [first] = srcRelative.split('/')
  return srcRelative.includes('/') ? first! : srcRelative.replace(/\.(ts|js)$/, '')
}

/** Which modules each module may import (ARCHITECTURE.md's table). Root files not listed may import anything. */
const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  store: ['core', 'store'],
  queue: ['core', 'store', 'queue'],
  providers: ['core', 'providers'],
  routing: ['core', 'routing', 'store'],
  bots: ['core', 'bots'],
  tasks: ['core', 'store', 'queue', 'providers', 'bots', 'routing', 'tasks', 'logger', 'metrics', 'media'],
  webhooks: ['core', 'providers', 'store', 'queue', 'routing', 'webhooks', 'http', 'metrics'],
  // bots (index) for POST /api/bots/{id}/test, which calls the bot once.
  api: ['core', 'store', 'queue', 'providers', 'bots', 'api', 'logger', 'media'],
  // config.ts for the type of its media settings only.
  media: ['core', 'store', 'media', 'config'],
  // logger.ts and metrics.ts are shared infrastructure of the root, handed in by the composition root.
  console: ['console', 'api'],
}

const files = sourceFiles(SRC).map((path) => ({ path, rel: relative(SRC, path), text: readFileSync(path, 'utf8') }))

function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!)
}

describe('architecture', () => {
  it('keeps every module to the imports its row in ARCHITECTURE.md allows', () => {
    const violations: string[] = []
    for (const file of files) {
      const from = moduleOf(file.rel)
      const allowed = ALLOWED[from]
      if (!allowed) continue
      for (const specifier of importsOf(file.text)) {
        if (!specifier.startsWith('.')) continue
        const target = relative(SRC, normalize(join(dirname(file.path), specifier)))
        const to = moduleOf(target)
        if (!allowed.includes(to)) violations.push(`${file.rel} imports ${target} (${from} may not import ${to})`)
        // Outside providers/, a provider folder is reached only through providers/index.ts.
        if (from !== 'providers' && /^providers\/[a-z]+\//.test(target)) violations.push(`${file.rel} deep-imports ${target}`)
        // One provider never imports another.
        const own = file.rel.match(/^providers\/([a-z]+)\//)?.[1]
        const other = target.match(/^providers\/([a-z]+)\//)?.[1]
        if (own && other && own !== other) violations.push(`${file.rel} imports another provider: ${target}`)
        // Only store/db.ts names the dialects.
        if (/^store\/dialects\//.test(target) && !file.rel.startsWith('store/dialects/') && file.rel !== 'store/db.ts') {
          violations.push(`${file.rel} imports a dialect: ${target}`)
        }
      }
    }
    assert.deepEqual(violations, [])
  })

  it('has no import cycles among the files of src/ (type imports included): dependencies run one way', () => {
    const edges = new Map<string, string[]>()
    for (const file of files) {
      const targets = importsOf(file.text)
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => relative(SRC, normalize(join(dirname(file.path), specifier))).replace(/\.js$/, '.ts'))
      edges.set(file.rel, targets)
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const path: string[] = []
    const visit = (node: string): void => {
      state.set(node, 'open')
      path.push(node)
      for (const next of edges.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '))
        else if (!state.has(next)) visit(next)
      }
      path.pop()
      state.set(node, 'done')
    }
    for (const file of files) if (!state.has(file.rel)) visit(file.rel)
    assert.deepEqual(cycles, [])
  })

  it('reads process.env only in config.ts, the clock only in core/clock.ts, and exports nothing by default', () => {
    const violations: string[] = []
    for (const file of files) {
      if (file.rel.startsWith('console/assets/')) continue
      if (/process\.env/.test(file.text) && file.rel !== 'config.ts') violations.push(`${file.rel} reads process.env`)
      if (/Date\.now\(\)/.test(file.text) && file.rel !== 'core/clock.ts') violations.push(`${file.rel} calls Date.now()`)
      if (/^export default/m.test(file.text)) violations.push(`${file.rel} has a default export`)
    }
    assert.deepEqual(violations, [])
  })

  it('keeps SQL inside store/', () => {
    const violations: string[] = []
    for (const file of files) {
      if (file.rel.startsWith('store/')) continue
      if (/\b(selectFrom|insertInto|updateTable|deleteFrom)\(|sql`/.test(file.text)) violations.push(`${file.rel} builds SQL`)
    }
    assert.deepEqual(violations, [])
  })
})
