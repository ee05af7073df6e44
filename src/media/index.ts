/**
 * The media library (media-library.ts): stages incoming bytes in a temp file while hashing and counting
 * them, puts them into the configured `MediaStore` (files or S3), and records a row per item. Built once
 * by the composition root; the API, the tasks and the signed-link route share it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import type { MediaConfig } from '../config.js'
import { isoAt, type Clock } from '../core/clock.js'
import { GW_ERR_MEDIA_CHECKSUM, GW_ERR_MEDIA_TOO_LARGE } from '../core/errors.js'
import { newId } from '../core/ids.js'
import { createMediaRepo, type StoredMedia } from '../store/repos/media.js'
import type { Database } from '../store/schema.js'
import { createFileStore, FILE_STORE_TEMP_DIR } from './file-store.js'
import type { MediaInput, MediaLibrary, MediaRecord } from './media-library.js'
import type { MediaStore } from './media-store.js'
import { createS3Store } from './s3-store.js'
import { createUrlSigner } from './signed-url.js'

export type { MediaInput, MediaLibrary, MediaRecord } from './media-library.js'
export type { MediaStore } from './media-store.js'
export { createMediaLinkModule } from './media-link-module.js'
export { createErasure, type Erasure, type ErasureCounts } from './erasure.js'
export { sendMedia } from './media-response.js'

/** Byte deletions in flight at once when erasing many items. */
const DELETE_CONCURRENCY = 8

/** How long a provider's id of an upload is reused: under Meta's 30 days, with a margin for sends in flight. */
const UPLOAD_REUSE_MS = 25 * 24 * 3_600_000

/** What `createMediaLibrary` needs. */
export interface MediaLibraryOptions {
  /** `config.media`: the size limit and where the bytes go. */
  config: MediaConfig
  /** The store's Kysely database (the `media` table). */
  db: Kysely<Database>
  /** The gateway's current secret key (the first of `SWITCHBOARD_SECRET_KEYS`); the URL key is derived from it. */
  signingKey: Buffer
  clock: Clock
  /** Where bytes are staged before the put; defaults to the media folder's `.tmp/`, or the OS temp folder for S3. */
  tempDir?: string
  /**
   * Records a new item's row; default the repo's Kysely insert. The gateway passes its hot-path store's,
   * so on SQLite the write joins the writer thread's batch instead of stopping the event loop.
   */
  insertRow?: (media: StoredMedia) => Promise<void>
  /** A store to use instead of the configured one (tests). */
  store?: MediaStore
}

/** Byte count and digest of a staged body. */
interface Staged {
  path: string
  size: number
  digest: Buffer
}

/** The announced digest as bytes: 64 hex characters, else base64 (Meta's webhooks send base64). */
function digestBytes(announced: string): Buffer {
  const text = announced.trim()
  return /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64')
}

/** The size limit in words: `100 MB (104857600 bytes)`. */
function limitText(bytes: number): string {
  const mb = Math.round((bytes / (1024 * 1024)) * 10) / 10
  return bytes >= 1024 * 1024 ? `${mb} MB (${bytes} bytes)` : `${bytes} bytes`
}

/** `GW_ERR_MEDIA_TOO_LARGE` naming the limit; the API answers with it too when the declared length is over. */
export function mediaTooLarge(maxBytes: number): Error {
  return GW_ERR_MEDIA_TOO_LARGE(`The media is larger than the gateway accepts: at most ${limitText(maxBytes)}, set by SWITCHBOARD_MEDIA_MAX_BYTES.`)
}

function toRecord(media: StoredMedia): MediaRecord {
  return {
    id: media.id,
    teamId: media.teamId,
    mimeType: media.mimeType,
    size: media.size,
    sha256: media.sha256,
    filename: media.filename,
    source: media.source,
    createdAt: media.createdAt,
  }
}

/** Builds the gateway's media library. */
export function createMediaLibrary(options: MediaLibraryOptions): MediaLibrary {
  const { config, clock } = options
  const { maxBytes } = config
  const store = options.store ?? (config.store.kind === 'file' ? createFileStore(config.store.dir) : createS3Store(config.store))
  const tempDir = options.tempDir ?? (config.store.kind === 'file' ? join(config.store.dir, FILE_STORE_TEMP_DIR) : tmpdir())
  const repo = createMediaRepo(options.db)
  const insertRow = options.insertRow ?? ((media: StoredMedia) => repo.insert(media))
  const signer = createUrlSigner(options.signingKey, clock)
  const keyOf = (record: { teamId: string; id: string }) => `${record.teamId}/${record.id}`
  const tooLarge = () => mediaTooLarge(maxBytes)

  /** Writes the body to a temp file, hashing and counting; stops reading past the limit. */
  async function stage(body: MediaInput['body']): Promise<Staged> {
    await mkdir(tempDir, { recursive: true })
    const path = join(tempDir, `${randomBytes(12).toString('hex')}.upload`)
    const hash = createHash('sha256')
    let size = 0
    const file = await open(path, 'wx')
    try {
      const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = Buffer.isBuffer(body) ? [body] : body
      // Leaving this loop early (the throw) ends the iterator, which destroys a stream body.
      for await (const chunk of chunks) {
        size += chunk.byteLength
        if (size > maxBytes) {
          ;(body as { destroy?: () => void }).destroy?.()
          throw tooLarge()
        }
        hash.update(chunk)
        await file.write(chunk)
      }
    } catch (error) {
      await file.close().catch(() => {})
      await rm(path, { force: true })
      throw error
    }
    await file.close()
    return { path, size, digest: hash.digest() }
  }

  return {
    maxBytes,

    async store(input) {
      const staged = await stage(input.body)
      try {
        if (input.expectedSha256 != null && input.expectedSha256.trim() !== '') {
          const expected = digestBytes(input.expectedSha256)
          if (!expected.equals(staged.digest)) {
            throw GW_ERR_MEDIA_CHECKSUM(
              `The media's sha256 is ${staged.digest.toString('hex')} but the provider announced ${input.expectedSha256.trim().slice(0, 88)}; the download was damaged or replaced.`,
            )
          }
        }
        const nowMs = clock.now()
        const id = newId('med', nowMs)
        const media: StoredMedia = {
          id,
          teamId: input.teamId,
          mimeType: input.mimeType,
          size: staged.size,
          sha256: staged.digest.toString('hex'),
          filename: input.filename,
          storageKey: keyOf({ teamId: input.teamId, id }),
          source: input.source,
          createdAt: isoAt(nowMs),
        }
        await store.put(media.storageKey, staged.path, { mimeType: media.mimeType, size: media.size })
        try {
          await insertRow(media)
        } catch (error) {
          // Bytes without a row are unreachable: take them back out.
          await store.delete(media.storageKey).catch(() => {})
          throw error
        }
        return toRecord(media)
      } finally {
        await rm(staged.path, { force: true })
      }
    },

    async find(teamId, id) {
      const media = await repo.find(teamId, id)
      return media ? toRecord(media) : undefined
    },

    async findById(id) {
      const media = await repo.findById(id)
      return media ? toRecord(media) : undefined
    },

    open(record) {
      return store.get(keyOf(record))
    },

    async read(record) {
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of await store.get(keyOf(record))) {
        size += (chunk as Buffer).byteLength
        // The row's size bounds it already; this guards a store object replaced behind our back.
        if (size > maxBytes) throw tooLarge()
        chunks.push(chunk as Buffer)
      }
      return Buffer.concat(chunks)
    },

    signedUrl(baseUrl, id, ttlMs) {
      return signer.sign(baseUrl, id, ttlMs)
    },

    verifySignature(id, expires, signature) {
      return signer.verify(id, expires, signature)
    },

    async uploadedId(id, providerId) {
      const upload = await repo.providerUpload(id, providerId)
      if (upload === undefined) return null
      // Meta keeps an uploaded media id 30 days: an older upload is made again rather than sent to fail.
      const ageMs = clock.now() - Date.parse(upload.uploadedAt)
      return Number.isFinite(ageMs) && ageMs < UPLOAD_REUSE_MS ? upload.id : null
    },

    async recordUpload(id, providerId, uploadedId) {
      await repo.recordProviderUpload(id, providerId, { id: uploadedId, uploadedAt: isoAt(clock.now()) })
    },

    async delete(record) {
      // The row first: bytes without a row are harmless, a row without bytes fails every read.
      await repo.delete(record.id)
      await store.delete(keyOf(record))
    },

    async deleteBytes(storageKeys) {
      const failed: string[] = []
      // A few at a time: an S3 store answers each delete in a round trip, a folder in a syscall.
      for (let start = 0; start < storageKeys.length; start += DELETE_CONCURRENCY) {
        const keys = storageKeys.slice(start, start + DELETE_CONCURRENCY)
        const results = await Promise.allSettled(keys.map((key) => store.delete(key)))
        results.forEach((result, index) => {
          if (result.status === 'rejected') failed.push(keys[index]!)
        })
      }
      return failed
    },
  }
}
