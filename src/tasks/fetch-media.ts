/**
 * Fetches an inbound message's media from its provider and stores it, before the bot is called (SPEC
 * §9.2). It runs inside `inbound.handle`, in the conversation's inbound lane, so the conversation's order
 * holds and the bot sees the stored media's URL; the provider's URL lives minutes, so it runs at once.
 *
 * A fetch that fails for a reason that may pass (network, 5xx, a store that did not answer, bytes that did
 * not match their digest) throws, and the task's backoff tries again, up to `MEDIA_FETCH_ATTEMPTS`; one
 * that cannot succeed (gone, refused, over the size limit), or the last attempt, leaves the media
 * `failed` with its reason, and the message still reaches the bot.
 */
import { GW_ERR_MEDIA_TOO_LARGE, isGatewayError } from '../core/errors.js'
import type { InboundMediaPayload } from '../core/message.js'
import type { MediaLibrary } from '../media/media-library.js'
import { ProviderError, type Provider } from '../providers/index.js'

/** Attempts of the inbound task that may go to fetching media before it is given up as `failed`. */
export const MEDIA_FETCH_ATTEMPTS = 3

/** What a fetch needs besides the media itself. */
export interface MediaFetch {
  media: MediaLibrary
  provider: Provider
  teamId: string
  /** The inbound task's attempt (1 for the first). */
  attempt: number
  signal?: AbortSignal | undefined
}

/** The media, stored (`status: 'stored'` with its gateway id) or `failed` with the reason. */
export async function fetchInboundMedia(pending: InboundMediaPayload, fetch: MediaFetch): Promise<InboundMediaPayload> {
  const { source } = pending
  if (source.media_id === null && source.url === null) {
    return { ...pending, status: 'failed', error: 'The provider named no media id or URL to fetch this media from.' }
  }
  try {
    const download = await fetch.provider.downloadMedia({ mediaId: source.media_id, url: source.url }, fetch.signal)
    const record = await fetch.media.store({
      teamId: fetch.teamId,
      body: download.body,
      // The webhook's type names what the user sent (Meta adds codecs); a CDN's header may be generic.
      mimeType: pending.mime_type ?? download.mimeType ?? 'application/octet-stream',
      filename: pending.filename,
      source: 'inbound',
      expectedSha256: source.sha256,
    })
    return { ...pending, id: record.id, status: 'stored', mime_type: pending.mime_type ?? record.mimeType, size: record.size, sha256: record.sha256 }
  } catch (error) {
    if (fetch.signal?.aborted === true) throw error
    if (!isPermanent(error) && fetch.attempt < MEDIA_FETCH_ATTEMPTS) throw error
    const reason = error instanceof Error ? error.message : String(error)
    return { ...pending, status: 'failed', error: reason.slice(0, 500) }
  }
}

/** Failures another attempt cannot mend. */
function isPermanent(error: unknown): boolean {
  if (error instanceof ProviderError) return error.details.retry !== 'later'
  return isGatewayError(error) && error.code === GW_ERR_MEDIA_TOO_LARGE.code
}
