/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --cpu-prof`, or any `node --cpu-prof`):
 * self time by function and by file/package, and total (inclusive) time of the heaviest frames.
 *   node bench/profile-summary.mjs bench/profiles/<file>.cpuprofile [--top 30] [--filter text]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' }, filter: { type: 'string' } } })
const top = Number(values.top)
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

// Self time per node from the samples and their time deltas.
const self = new Map()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

const where = (cf) => {
  const url = cf.url || ''
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]
  if (url.includes('/dist/')) return 'dist/' + url.split('/dist/')[1]
  if (url.startsWith('node:')) return url
  return url ? url.replace(/^file:\/\//, '') : `(${cf.functionName || 'native'})`
}
const label = (cf) => `${cf.functionName || '(anonymous)'} ${where(cf)}:${cf.lineNumber + 1}`

const bySelfFn = new Map()
const byFile = new Map()
for (const [id, us] of self) {
  const cf = nodes.get(id).callFrame
  bySelfFn.set(label(cf), (bySelfFn.get(label(cf)) ?? 0) + us)
  byFile.set(where(cf), (byFile.get(where(cf)) ?? 0) + us)
}
// Inclusive time per function label (counted once per sample stack).
const inclusive = new Map()
profile.samples.forEach((id, i) => {
  const seen = new Set()
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const l = label(nodes.get(n).callFrame)
    if (seen.has(l)) continue
    seen.add(l)
    inclusive.set(l, (inclusive.get(l) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
})

const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`
const show = (title, map) => {
  console.log(`\n${title}`)
  ;[...map]
    .filter(([k]) => !values.filter || k.includes(values.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, us]) => console.log(`${pct(us)}  ${k}`))
}
console.log(`${positionals[0]}: ${(total / 1e6).toFixed(2)} s sampled`)
show('self time by file / package', byFile)
show('self time by function', bySelfFn)
show('inclusive time by function', inclusive)
