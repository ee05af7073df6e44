/**
 * Splits a reply longer than a provider's limit into parts, in order, preferring the largest natural
 * boundary that fits: paragraph, then line, then sentence, then word; a single word longer than the limit
 * is cut. Lengths are counted in UTF-16 code units, as providers count them, and never split a surrogate pair.
 */
export function splitText(text: string, maxLength: number): string[] {
  if (maxLength < 1) throw new RangeError('maxLength must be at least 1')
  const parts: string[] = []
  let rest = text
  while (rest.length > maxLength) {
    const cut = findCut(rest, maxLength)
    const head = rest.slice(0, cut).trimEnd()
    if (head.length > 0) parts.push(head)
    rest = rest.slice(cut).trimStart()
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest)
  return parts
}

const BOUNDARIES: RegExp[] = [/\n\s*\n/g, /\n/g, /[.!?…]["')\]]?\s+/g, /\s+/g]

function findCut(text: string, maxLength: number): number {
  const window = text.slice(0, maxLength + 1)
  for (const boundary of BOUNDARIES) {
    let best = -1
    boundary.lastIndex = 0
    for (let match = boundary.exec(window); match; match = boundary.exec(window)) {
      // Cut after the sentence mark, before the whitespace run; skip a cut at the very start.
      const end = match.index + match[0].trimEnd().length
      const cutAt = boundary === BOUNDARIES[2] ? end : match.index
      if (cutAt > 0 && cutAt <= maxLength) best = cutAt
    }
    if (best > 0) return best
  }
  // No boundary: hard cut, not inside a surrogate pair.
  const code = text.charCodeAt(maxLength - 1)
  return code >= 0xd800 && code <= 0xdbff ? maxLength - 1 : maxLength
}
