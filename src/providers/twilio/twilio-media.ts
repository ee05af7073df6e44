/**
 * Downloads inbound media from Twilio: `MediaUrl{N}` with HTTP Basic auth (`account_sid:auth_token`),
 * which Twilio enforces on media URLs. Twilio answers with a redirect to its CDN, so redirects are
 * followed by hand: the credentials go only to the origin of the first URL, never to the CDN or any
 * other host a redirect names.
 * @see https://www.twilio.com/docs/messaging/api/media-resource
 */
import { ProviderError, type MediaDownload, type MediaReference, type ProviderDeps } from '../provider.js'
import { discard, downloadOf, downloadRefused, headerText, openDownload, REDIRECT_STATUSES, type ProviderLabel } from '../provider-http.js'
import type { TwilioConfig } from './twilio-config.js'
import { basicAuth } from './twilio-numbers.js'

const PROVIDER = 'twilio'
const TWILIO: ProviderLabel = { provider: PROVIDER, name: 'Twilio' }

/** Redirects followed before giving up (Twilio uses one). */
export const MAX_MEDIA_REDIRECTS = 5

/** Opens the download of `reference.url`, following at most `MAX_MEDIA_REDIRECTS` redirects. */
export async function downloadTwilioMedia(config: TwilioConfig, reference: MediaReference, deps: ProviderDeps, signal?: AbortSignal): Promise<MediaDownload> {
  if (reference.url === null || !URL.canParse(reference.url)) {
    throw new ProviderError('The media has no URL to fetch it from (Twilio gives one as MediaUrl0).', { provider: PROVIDER, providerCode: 'no_media_reference', retry: 'never' })
  }
  const first = new URL(reference.url)
  let target = first
  for (let hop = 0; hop <= MAX_MEDIA_REDIRECTS; hop++) {
    const headers: Record<string, string> = {}
    // MUST: credentials only while the request stays on the first URL's origin.
    if (target.origin === first.origin) headers.authorization = basicAuth(config)
    const response = await openDownload(target, headers, deps, signal, TWILIO)
    const { statusCode } = response
    if (statusCode >= 200 && statusCode < 300) return downloadOf(response)
    await discard(response.body)
    const location = headerText(response.headers.location)
    if (REDIRECT_STATUSES.has(statusCode) && location !== null && URL.canParse(location, target)) {
      target = new URL(location, target)
      continue
    }
    throw downloadRefused(TWILIO, target, statusCode)
  }
  throw new ProviderError(`Twilio's media URL redirected more than ${MAX_MEDIA_REDIRECTS} times.`, {
    provider: PROVIDER,
    providerCode: 'too_many_redirects',
    retry: 'never',
  })
}
