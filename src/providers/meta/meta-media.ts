/**
 * Media at Meta: uploads of gateway media (sent afterwards by id) and downloads of inbound media.
 * - Upload: `POST /{phone_number_id}/media`, multipart `messaging_product`, `type`, `file` → `{id}`
 *   (valid 30 days).
 * - Download: `GET /{media_id}` → `{url, mime_type, sha256 (hex), file_size}`, then the `url` (valid 5
 *   minutes) with the same bearer token, streamed to the caller, never buffered.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media
 */
import { FormData } from 'undici'
import { ProviderError, type MediaDownload, type MediaReference, type OutboundMedia, type ProviderDeps } from '../provider.js'
import { discard, downloadOf, downloadRefused, openDownload, parseJsonObject, type ProviderLabel } from '../provider-http.js'
import type { MetaConfig } from './meta-config.js'
import { graphBase, graphCall } from './meta-http.js'
import type { GraphMediaInfo, GraphUploadResponse } from './meta-wire.js'

const PROVIDER = 'meta_cloud_api'
const META: ProviderLabel = { provider: PROVIDER, name: 'Meta' }

/**
 * Hosts Meta serves media from. The bearer token goes only to these and to the configured Graph origin:
 * a media URL elsewhere is fetched without it (it then works only if it needs no token).
 */
const META_MEDIA_HOSTS = /(^|\.)(fbsbx\.com|facebook\.com|fbcdn\.net|whatsapp\.net)$/i

/** Uploads the stored bytes for `pnid`; resolves with Meta's media id. */
export async function uploadMetaMedia(config: MetaConfig, pnid: string, media: OutboundMedia, deps: ProviderDeps): Promise<string> {
  const bytes = await media.read()
  const form = new FormData()
  form.append('messaging_product', 'whatsapp')
  form.append('type', media.mimeType)
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: media.mimeType }), media.filename ?? media.id)
  const { statusCode, text } = await graphCall(config, deps, { method: 'POST', path: `${encodeURIComponent(pnid)}/media`, form })
  const id = (parseJsonObject(text) as GraphUploadResponse | null)?.id
  if (typeof id !== 'string' || id === '') {
    throw new ProviderError(`Meta accepted the media upload but its answer (HTTP ${statusCode}) named no media id.`, {
      provider: PROVIDER,
      providerCode: 'no_media_id',
      retry: 'later',
    })
  }
  return id
}

/** Opens the download of inbound media by its Meta id (or, without one, the webhook's `url`). */
export async function downloadMetaMedia(config: MetaConfig, reference: MediaReference, deps: ProviderDeps, signal?: AbortSignal): Promise<MediaDownload> {
  let url: string
  let announcedType: string | null = null
  let announcedSize: number | null = null
  if (reference.mediaId !== null && reference.mediaId !== '') {
    // The webhook's own `url` may be older than 5 minutes by now: a fresh lookup always has a live one.
    const { text } = await graphCall(config, deps, { method: 'GET', path: encodeURIComponent(reference.mediaId), signal })
    const info = parseJsonObject(text) as GraphMediaInfo | null
    if (typeof info?.url !== 'string' || !URL.canParse(info.url)) {
      throw new ProviderError(`Meta's answer about media ${reference.mediaId} named no download URL.`, { provider: PROVIDER, providerCode: 'no_media_url', retry: 'later' })
    }
    url = info.url
    announcedType = typeof info.mime_type === 'string' && info.mime_type !== '' ? info.mime_type : null
    const size = Number(info.file_size)
    announcedSize = info.file_size !== undefined && Number.isSafeInteger(size) && size >= 0 ? size : null
  } else if (reference.url !== null && URL.canParse(reference.url)) {
    url = reference.url
  } else {
    throw new ProviderError('The media has neither a Meta media id nor a URL to fetch it from.', { provider: PROVIDER, providerCode: 'no_media_reference', retry: 'never' })
  }

  const target = new URL(url)
  const headers: Record<string, string> = {}
  if (target.origin === new URL(graphBase(deps)).origin || (target.protocol === 'https:' && META_MEDIA_HOSTS.test(target.hostname))) {
    headers.authorization = `Bearer ${config.access_token}`
  }
  const response = await openDownload(target, headers, deps, signal, META)
  if (response.statusCode < 200 || response.statusCode >= 300) {
    await discard(response.body)
    throw downloadRefused(META, target, response.statusCode)
  }
  return downloadOf(response, { mimeType: announcedType, size: announcedSize })
}
