/**
 * The Meta stand-in's media: bytes a sandbox user sends (so the gateway can download them as it does
 * from Meta), bytes the gateway uploads (so the sandbox phone can show what the bot sent), and bytes
 * fetched from a link the bot sent. Kept in memory, the oldest dropped past a budget: a sandbox is a
 * playground, not an archive.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media
 */
import { createHash, randomInt } from 'node:crypto'

/** One piece of media the stand-in holds. */
export interface StandInMedia {
  /** Numeric, like Meta's media ids. */
  id: string
  /** The business number it belongs to (Meta refuses another number's media when asked to check). */
  phoneNumberId: string
  mimeType: string
  filename: string | null
  bytes: Buffer
  /** Hex, as `GET /{media_id}` gives it (webhooks give base64). */
  sha256: string
}

/** Largest single piece of media: Meta's limit for documents is higher, but a sandbox needs no more. */
export const STAND_IN_MEDIA_MAX = 16 * 1024 * 1024
/** Bytes kept in all; past it the oldest media are forgotten. */
const BUDGET = 256 * 1024 * 1024

/**
 * The types Meta accepts in an upload, by kind (a parameter such as `; codecs=opus` aside).
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/media#supported-media-types
 */
export const UPLOAD_TYPES: ReadonlySet<string> = new Set([
  'audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg',
  'text/plain', 'application/pdf', 'application/vnd.ms-excel', 'application/msword', 'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'image/jpeg', 'image/png', 'image/webp',
  'video/mp4', 'video/3gpp',
])

/** The type without parameters, lower case (`audio/ogg; codecs=opus` → `audio/ogg`). */
export function baseType(mimeType: string): string {
  return mimeType.split(';')[0]!.trim().toLowerCase()
}

/** The stand-in's media, by id, oldest first. */
export class StandInMediaStore {
  readonly #items = new Map<string, StandInMedia>()
  #bytes = 0

  /** Keeps `bytes` under a fresh id. */
  add(input: { phoneNumberId: string; mimeType: string; filename?: string | null; bytes: Buffer }): StandInMedia {
    let id = ''
    while (id === '' || this.#items.has(id)) {
      id = `${randomInt(1, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}${String(randomInt(0, 1e6)).padStart(6, '0')}`
    }
    const media: StandInMedia = {
      id,
      phoneNumberId: input.phoneNumberId,
      mimeType: input.mimeType,
      filename: input.filename ?? null,
      bytes: input.bytes,
      sha256: createHash('sha256').update(input.bytes).digest('hex'),
    }
    this.#items.set(id, media)
    this.#bytes += media.bytes.length
    for (const [oldId, old] of this.#items) {
      if (this.#bytes <= BUDGET || oldId === id) break
      this.#items.delete(oldId)
      this.#bytes -= old.bytes.length
    }
    return media
  }

  get(id: string): StandInMedia | undefined {
    return this.#items.get(id)
  }
}

/** Base64 of the bytes' sha256: how a webhook's media object spells it. */
export function sha256Base64(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64')
}

/** The fields of a `multipart/form-data` body (Meta's upload), or null when it is not one. */
export async function readMultipart(contentType: string | undefined, body: Buffer): Promise<FormData | null> {
  if (contentType === undefined || !/^multipart\/form-data;/i.test(contentType)) return null
  try {
    return await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData()
  } catch {
    return null
  }
}
