/**
 * The gateway's media: bytes in a `MediaStore` (files or S3), a row per item in the `media` table, and
 * signed URLs that let a bot, a provider or a browser fetch the bytes without a token (SPEC §9.3). Used
 * by the inbound task (fetched media), the admin API (uploads, downloads) and sends (uploads to providers).
 */
import type { Readable } from 'node:stream'

/** One stored media item. */
export interface MediaRecord {
  /** `med_…` */
  id: string
  teamId: string
  mimeType: string
  size: number
  /** Hex sha256 of the bytes. */
  sha256: string
  filename: string | null
  source: 'inbound' | 'upload' | 'speech'
  createdAt: string
}

/** Bytes to store, with what is known of them. */
export interface MediaInput {
  teamId: string
  body: AsyncIterable<Uint8Array> | Buffer
  mimeType: string
  filename: string | null
  source: MediaRecord['source']
  /**
   * The digest the provider announced (hex, or base64 as Meta's webhooks give it); the bytes must match
   * it or `GW_ERR_MEDIA_CHECKSUM` is thrown and nothing is kept.
   */
  expectedSha256?: string | null
}

/** What `MediaLibrary` offers; `createMediaLibrary` (media/index.ts) builds it. */
export interface MediaLibrary {
  /** Largest item accepted (`SWITCHBOARD_MEDIA_MAX_BYTES`). */
  readonly maxBytes: number
  /**
   * Streams the bytes into the store while hashing and counting them, then records the row. Past
   * `maxBytes` it stops reading, destroys the body and throws `GW_ERR_MEDIA_TOO_LARGE`; a digest that
   * does not match throws `GW_ERR_MEDIA_CHECKSUM`. Nothing half-written stays behind.
   */
  store(input: MediaInput): Promise<MediaRecord>
  /** The team's media item, or undefined (another team's id finds nothing). */
  find(teamId: string, id: string): Promise<MediaRecord | undefined>
  /** Any team's item (for signed URLs, which carry their own authority). */
  findById(id: string): Promise<MediaRecord | undefined>
  /** A stream of the stored bytes. */
  open(record: MediaRecord): Promise<Readable>
  /** The stored bytes at once (for uploads to a provider). */
  read(record: MediaRecord): Promise<Buffer>
  /**
   * `{baseUrl}/media/{id}?expires=…&signature=…`, valid for `ttlMs` (default 6 hours; links handed to bots
   * and providers must hold at least one hour).
   */
  signedUrl(baseUrl: string, id: string, ttlMs?: number): string
  /** Whether a signed URL's `expires` (unix seconds) and `signature` hold for `id` now. */
  verifySignature(id: string, expires: string | undefined, signature: string | undefined): boolean
  /** The provider's id of an earlier upload of the item to `providerId`, or null. */
  uploadedId(id: string, providerId: string): Promise<string | null>
  /** Remembers an upload of the item to `providerId`, so it is uploaded once. */
  recordUpload(id: string, providerId: string, uploadedId: string): Promise<void>
  /** Deletes the item's bytes and row. */
  delete(record: MediaRecord): Promise<void>
  /**
   * Deletes the bytes under these storage keys (the `media` rows naming them are already gone: erasure
   * deletes rows first, so nothing ever names missing bytes). A key holding nothing is not an error.
   * Returns the keys whose bytes could not be deleted (the store failed); they stay as unnamed bytes.
   */
  deleteBytes(storageKeys: readonly string[]): Promise<string[]>
}
