/** The benchmark's business numbers: phone_number_id and display number of each, and the WABA id. */
export const BENCH_WABA = '104857600321987'

/** `count` numbers (at most 100): +1 555-010-12xx, phone_number_ids 1098765432100xx. */
export function benchNumbers(count) {
  if (count < 1 || count > 100) throw new Error('between 1 and 100 bench numbers')
  return Array.from({ length: count }, (_, i) => ({
    pnid: String(109876543210000 + i),
    display: `+1 555-010-${1200 + i}`,
    digits: `1555010${1200 + i}`,
  }))
}

/** The broadcast scenario's recipients: +27 82 000 0000 onwards (South African mobiles, possible numbers). */
export const BROADCAST_RECIPIENT_BASE = 27_820_000_000

/** Recipient i of a bench broadcast, in E.164. */
export const broadcastRecipient = (i) => `+${BROADCAST_RECIPIENT_BASE + i}`

/** The index of a recipient from a send's `to` (digits, as Graph takes them), or -1 when it is not one. */
export function broadcastRecipientIndex(to) {
  const n = Number(String(to).replace(/^\+/, '')) - BROADCAST_RECIPIENT_BASE
  return Number.isSafeInteger(n) && n >= 0 && n < 10_000_000 ? n : -1
}

/** The one template the fake Graph API lists (APPROVED, one positional parameter) and the broadcast sends. */
export const BENCH_TEMPLATE = { name: 'bench_notice', language: 'en' }
