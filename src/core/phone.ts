/**
 * Phone numbers in E.164, parsed by libphonenumber-js (metadata "max" would be 140 kB more; the default
 * metadata validates numbering plans well enough for routing and duplicate checks).
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js'

/**
 * Normalises a number written by a person or a provider (`+27 81 234 5678`, `+1 (212) 555-2368`,
 * `whatsapp:+15550101234`, Meta's `15550101234`) to E.164 (`+27812345678`), or null when it is not a
 * valid number. Numbers without a `+` are read as already international (providers send them so).
 */
export function toE164(input: string): string | null {
  const known = parsed.get(input)
  if (known !== undefined) return known
  const number = parseE164(input)
  if (parsed.size >= PARSED_LIMIT) {
    // The oldest sixteenth at once: one at a time would walk the Map's deleted slots on every insert.
    let evict = PARSED_LIMIT / 16
    for (const oldest of parsed.keys()) {
      parsed.delete(oldest)
      if (--evict === 0) break
    }
  }
  parsed.set(input, number)
  return number
}

/**
 * Numbers already parsed, by input: every webhook names its sender and the channel's display number,
 * which come back again and again, and a parse took 2.7 % of the main thread end to end (bench profile,
 * ~20 µs each). Bounded, since webhooks may name any number of numbers.
 */
const PARSED_LIMIT = 8_192
const parsed = new Map<string, string | null>()

/** How many parsed numbers are remembered (for tests: never more than the limit). */
export function rememberedNumbers(): number {
  return parsed.size
}

function parseE164(input: string): string | null {
  let text = input.trim()
  if (text.startsWith('whatsapp:')) text = text.slice('whatsapp:'.length)
  if (!text.startsWith('+')) {
    if (!/^[\d\s().-]+$/.test(text)) return null
    text = `+${text}`
  }
  const phone = parsePhoneNumberFromString(text)
  // "Possible" (right length for the country) rather than "valid" (an allocated range): Meta's own
  // test numbers are +1 555-01xx numbers, which are reserved as fictional and so never "valid".
  if (!phone || !phone.isPossible()) return null
  return phone.number
}

/** True for a Meta business-scoped user id (`US.13491208655302741918`): country prefix, dot, digits. */
export function isBsuid(value: string): boolean {
  return /^[A-Z]{2}\.[0-9A-Za-z]{1,250}$/.test(value)
}
