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
