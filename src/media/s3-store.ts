/**
 * Media bytes in any S3-compatible bucket (AWS, MinIO, R2, …) under an optional key prefix. A PutObject
 * is atomic on every S3 implementation: readers see the whole object or none.
 */
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import type { MediaConfig } from '../config.js'
import { GW_ERR_MEDIA_STORE_FAILED } from '../core/errors.js'
import { assertSafeKey, type MediaStore } from './media-store.js'

/** The S3 settings of `SWITCHBOARD_MEDIA_STORE=s3://…`. */
export type S3StoreConfig = Extract<MediaConfig['store'], { kind: 's3' }>

/** The S3 client for the settings; credentials from the config, else the SDK's default chain. */
function clientFor(config: S3StoreConfig): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.accessKeyId !== undefined && config.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
      : {}),
    // A store that does not answer must fail the upload or fetch, not hold it for minutes.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    maxAttempts: 3,
    // The SDK prints to the console when it has no logger; our error carries what it would say.
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  })
}

/**
 * The store's error in words that name the bucket and the S3 error code, never the credentials: the
 * SDK's messages do not carry the secret key, and we drop it again should any ever do.
 */
function storeFailed(config: S3StoreConfig, action: string, key: string, error: unknown): Error {
  const name = (error as { name?: string }).name ?? 'Error'
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  let detail = `${name}${status !== undefined ? `, HTTP ${status}` : ''}: ${(error as Error).message ?? ''}`.slice(0, 300)
  for (const secret of [config.secretAccessKey, config.accessKeyId]) {
    if (secret) detail = detail.split(secret).join('[redacted]')
  }
  const where = config.endpoint !== undefined ? ` at ${config.endpoint}` : ''
  return GW_ERR_MEDIA_STORE_FAILED(
    `The S3 bucket "${config.bucket}"${where} could not ${action} "${key}" (${detail}); check the bucket, its region, the credentials and that the store is reachable.`,
  )
}

/** Bodies up to this size are put from memory, so the SDK can retry them; larger ones stream from the file. */
const RETRYABLE_PUT_BYTES = 8 * 1024 * 1024

/** A `MediaStore` keeping each item as the object `<prefix>/<key>` of one bucket. */
export function createS3Store(config: S3StoreConfig): MediaStore {
  const client = clientFor(config)
  const objectKey = (key: string) => {
    assertSafeKey(key)
    return config.prefix === '' ? key : `${config.prefix}/${key}`
  }
  return {
    async put(key, filePath, info) {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: config.bucket,
            Key: objectKey(key),
            // A stream body needs its length up front; the library knows it exactly.
            Body: info.size <= RETRYABLE_PUT_BYTES ? await readFile(filePath) : createReadStream(filePath),
            ContentLength: info.size,
            ContentType: info.mimeType,
          }),
        )
      } catch (error) {
        throw storeFailed(config, 'store', key, error)
      }
    },

    async get(key) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: objectKey(key) }))
        if (object.Body === undefined) throw new Error('the store answered without a body')
        // On Node the SDK's body is the HTTP response stream itself.
        return object.Body as Readable
      } catch (error) {
        throw storeFailed(config, 'read', key, error)
      }
    },

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: objectKey(key) }))
      } catch (error) {
        throw storeFailed(config, 'delete', key, error)
      }
    },
  }
}
