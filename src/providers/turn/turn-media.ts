/**
 * Media at Turn.io: uploads of gateway media (sent afterwards by Turn's id) and downloads of inbound media.
 * - Upload: `POST /v1/media` with the raw bytes and their `Content-Type` (not multipart) →
 *   `{"media": [{"id"}]}`; Turn keeps the media and re-uploads it to WhatsApp as needed.
 * - Download: `GET /v1/media/{id}` with the bearer token (or, without an id, the webhook's `url`),
 *   streamed to the caller.
 * @see https://whatsapp.turn.io/docs/api/media
 */
import { ProviderError, type MediaDownload, type MediaReference, type OutboundMedia, type ProviderDeps } from '../provider.js'
import { discard, downloadOf, downloadRefused, openDownload, parseJsonObject, scrubbedAnswer, type ProviderLabel } from '../provider-http.js'
import type { TurnConfig } from './turn-config.js'
import { classifyTurnError } from './turn-errors.js'
import { turnBase, turnPost } from './turn-http.js'
import type { TurnMediaUploadResponse } from './turn-wire.js'

const PROVIDER = 'turnio'
const TURN: ProviderLabel = { provider: PROVIDER, name: 'Turn.io' }

/** Turn's own hosts: the only ones, with the configured API origin, that get the bearer token. */
const TURN_HOSTS = /(^|\.)turn\.io$/i

/** Uploads the stored bytes; resolves with Turn's media id. */
export async function uploadTurnMedia(config: TurnConfig, media: OutboundMedia, deps: ProviderDeps): Promise<string> {
  const { statusCode, text } = await turnPost(config, deps, '/v1/media', await media.read(), media.mimeType)
  const id = (parseJsonObject(text) as TurnMediaUploadResponse | null)?.media?.[0]?.id
  if (typeof id !== 'string' || id === '') {
    throw new ProviderError(`Turn.io accepted the media upload but its answer (HTTP ${statusCode}) named no media id.`, {
      provider: PROVIDER,
      providerCode: 'no_media_id',
      retry: 'later',
    })
  }
  return id
}

/** Opens the download of inbound media by Turn's id, or by the webhook's `url` when there is none. */
export async function downloadTurnMedia(config: TurnConfig, reference: MediaReference, deps: ProviderDeps, signal?: AbortSignal): Promise<MediaDownload> {
  const base = turnBase(deps)
  let target: URL
  if (reference.mediaId !== null && reference.mediaId !== '') target = new URL(`${base}/v1/media/${encodeURIComponent(reference.mediaId)}`)
  else if (reference.url !== null && URL.canParse(reference.url)) target = new URL(reference.url)
  else throw new ProviderError('The media has neither a Turn.io media id nor a URL to fetch it from.', { provider: PROVIDER, providerCode: 'no_media_reference', retry: 'never' })

  const headers: Record<string, string> = {}
  if (target.origin === new URL(base).origin || (target.protocol === 'https:' && TURN_HOSTS.test(target.hostname))) {
    headers.authorization = `Bearer ${config.auth_token}`
  }
  const response = await openDownload(target, headers, deps, signal, TURN)
  const { statusCode } = response
  if (statusCode < 200 || statusCode >= 300) {
    // The answer of Turn's API is a small JSON error worth reading; any other host's is dropped.
    if (target.origin === new URL(base).origin) {
      const text = scrubbedAnswer(await response.body.text().catch(() => ''), headers)
      const classified = classifyTurnError(statusCode, text, response.headers['retry-after'])
      throw new ProviderError(classified.message.replace('refused the message', 'refused the media download'), classified.details)
    }
    await discard(response.body)
    throw downloadRefused(TURN, target, statusCode)
  }
  return downloadOf(response)
}
