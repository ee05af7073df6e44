/** Splitting rows for set-based statements. */

/** Rows per set-based statement: bounds one statement's JSON parameter (a few MB at most). */
export const CHUNK = 1000

export function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

