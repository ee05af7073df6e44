import { randomBytes } from 'node:crypto'

/**
 * Opaque, time-sortable identifiers: `<prefix>_<10 chars of ms time><16 chars random>` in Crockford
 * base32, like ULID. Within one process they are strictly increasing (the random part is incremented
 * inside one millisecond), which gives messages and queue jobs a stable order without a database sequence.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

let lastTime = -1
let lastRandom: number[] = []

function encodeTime(ms: number): string {
  let out = ''
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out
    ms = Math.floor(ms / 32)
  }
  return out
}

function freshRandom(): number[] {
  const bytes = randomBytes(16)
  return Array.from(bytes, (b) => b % 32)
}

function increment(digits: number[]): number[] {
  const next = digits.slice()
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i]! += 1
      return next
    }
    next[i] = 0
  }
  return freshRandom()
}

/** A new id with the given prefix, e.g. `newId('msg')`. `nowMs` comes from the caller's Clock. */
export function newId(prefix: string, nowMs: number): string {
  // Never go backwards within a process, even if the wall clock does.
  const time = Math.max(nowMs, lastTime)
  lastRandom = time === lastTime ? increment(lastRandom) : freshRandom()
  lastTime = time
  return `${prefix}_${encodeTime(time)}${lastRandom.map((d) => ALPHABET[d]).join('')}`
}
