/**
 * How many large webhook bodies are worked on at once. A 3 MB body becomes a 3 MB string and, once
 * parsed, tens of MB of objects; a flood of them from 32 clients (the bench's `flood` scenario) held
 * enough at once to exhaust the 256 MB heap `npm start` gives, and the gateway died with every signed
 * webhook behind it. Small bodies (every webhook a provider sends in the normal course) never wait
 * here; large ones take turns, a few at a time, and past a short line they are answered 503 with
 * `Retry-After` (a provider retries it; a forger's flood costs its bytes and nothing more).
 */

export interface LargeBodyGate {
  /** Resolves with a release when the body may be worked on; undefined when the line is full (answer 503). */
  enter(bytes: number): Promise<(() => void) | undefined>
}

export interface LargeBodyGateOptions {
  /** Bodies up to this size pass at once. */
  largeBytes: number
  /** Large bodies worked on at once. */
  concurrent: number
  /** Large bodies that may wait for a turn; the next one is refused. */
  waiting: number
}

export const DEFAULT_LARGE_BODY_GATE: LargeBodyGateOptions = { largeBytes: 256 * 1024, concurrent: 2, waiting: 8 }

const PASS = () => {}

export function createLargeBodyGate(options: LargeBodyGateOptions = DEFAULT_LARGE_BODY_GATE): LargeBodyGate {
  let active = 0
  const line: Array<() => void> = []

  function release(): void {
    const next = line.shift()
    if (next) next()
    else active -= 1
  }

  return {
    async enter(bytes) {
      if (bytes <= options.largeBytes) return PASS
      if (active < options.concurrent) {
        active += 1
        return once(release)
      }
      if (line.length >= options.waiting) return undefined
      // The turn is handed over with `active` unchanged: the releasing body's slot becomes this one's.
      await new Promise<void>((resolve) => line.push(resolve))
      return once(release)
    },
  }
}

function once(action: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    action()
  }
}
