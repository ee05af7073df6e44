// @ts-check
/**
 * How much failed work waits, next to "Failed work" in the navigation: the number of dead jobs on the
 * first page of `GET /api/jobs/dead` (50), "50+" when the list goes on. Read at every page change and
 * every half minute while the tab is visible, so work that gave up is seen from any page.
 */
import { api, session } from './api.js'

/** Jobs per page asked: the count says "N+" beyond it. */
const PAGE = 50
/** How often the count is read while the console is open. */
export const FAILED_COUNT_POLL_MS = 30_000

/** Draws `text` (empty hides it) in the navigation's count, with words for screen readers. */
function show(/** @type {string} */ text, /** @type {string} */ words) {
  const slot = document.getElementById('failed-count')
  if (!slot) return
  slot.hidden = text === ''
  slot.textContent = text
  slot.setAttribute('title', words)
  slot.dataset.count = text
  // The link's accessible name: "Failed work, 3 jobs gave up" rather than "Failed work3".
  slot.parentElement?.setAttribute('aria-label', text === '' ? 'Failed work' : `Failed work, ${words}`)
}

/** A read under way, and whether another was asked for meanwhile (the state may have changed since it began). */
let reading = false
let again = false

/** Reads the count again; a call while one is under way makes one more read after it. */
export async function refreshFailedCount() {
  if (!session.token) return
  if (reading) {
    again = true
    return
  }
  reading = true
  try {
    do {
      again = false
      /** @type {{ data: unknown[], next_cursor: string | null }} */
      const page = await api('GET', `/api/jobs/dead?limit=${PAGE}`)
      const count = page.data.length
      const more = page.next_cursor !== null
      // None of this team's on the first page: nothing shown (the pages after it may hold other teams' jobs).
      if (count === 0) show('', '')
      else show(`${count}${more ? '+' : ''}`, `${count}${more ? ' or more' : ''} job${count === 1 && !more ? '' : 's'} gave up`)
    } while (again)
  } catch {
    // A count that cannot be read is left as it was; the page itself says what went wrong.
  } finally {
    reading = false
  }
}
