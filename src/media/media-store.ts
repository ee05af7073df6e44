/**
 * Where media bytes live: files under a folder, or an S3-compatible bucket. Like the database dialects,
 * only the composition root (via `createMediaLibrary`) picks one; everything else sees this contract.
 */
import type { Readable } from 'node:stream'

/** What is known of the bytes being put. */
export interface MediaObjectInfo {
  mimeType: string
  size: number
}

/** A place for media bytes, addressed by keys like `<team id>/<media id>`. */
export interface MediaStore {
  /**
   * Stores the bytes of the file at `filePath` under `key`, and may move that file (the caller's copy is
   * a staging file). MUST be all or nothing: a reader never sees half the bytes, and a failure
   * (`GW_ERR_MEDIA_STORE_FAILED`) leaves no object behind.
   */
  put(key: string, filePath: string, info: MediaObjectInfo): Promise<void>
  /** A stream of the bytes under `key`; `GW_ERR_MEDIA_STORE_FAILED` when they cannot be read. */
  get(key: string): Promise<Readable>
  /** Removes the bytes under `key`; a key that holds nothing is not an error. */
  delete(key: string): Promise<void>
}

/** Refuses keys that could leave the store's namespace (keys are built by the library, this is a guard). */
export function assertSafeKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`media key ${JSON.stringify(key)} is not a relative path of plain segments`)
  }
}
