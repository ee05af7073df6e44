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

/**
 * The lowest id `newId(prefix, ms)` can make at `ms`: every id made at `ms` or later sorts at or after it.
 * (Ids are never behind their time, only ahead when the clock stepped back, so `id >= idFloor(…, t)` holds
 * for every row made at or after `t`, and an index on the id can seek to it.)
 */
export function idFloor(prefix: string, ms: number): string {
  return `${prefix}_${encodeTime(ms)}`
}

/** The time (ms) an id was made at, as encoded in it; NaN for a string that is not one of our ids. */
export function timeOfId(id: string): number {
  const encoded = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 11)
  let ms = 0
  for (const char of encoded) {
    const digit = ALPHABET.indexOf(char)
    if (digit < 0) return Number.NaN
    ms = ms * 32 + digit
  }
  return encoded.length === 10 ? ms : Number.NaN
}
