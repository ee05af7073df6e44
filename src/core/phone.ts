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
  let text = input.trim()
  if (text.startsWith('whatsapp:')) text = text.slice('whatsapp:'.length)
  if (!text.startsWith('+')) {
    if (!/^[\d\s().-]+$/.test(text)) return null
    text = `+${text}`
  }
  const parsed = parsePhoneNumberFromString(text)
  // "Possible" (right length for the country) rather than "valid" (an allocated range): Meta's own
  // test numbers are +1 555-01xx numbers, which are reserved as fictional and so never "valid".
  if (!parsed || !parsed.isPossible()) return null
  return parsed.number
}

/** True for a Meta business-scoped user id (`US.13491208655302741918`): country prefix, dot, digits. */
export function isBsuid(value: string): boolean {
  return /^[A-Z]{2}\.[0-9A-Za-z]{1,250}$/.test(value)
}
