/**
 * The S3 media store against a real S3-compatible server (s3rver on 127.0.0.1, files in a temp folder):
 * the library's round trip, all-or-nothing puts, store failures that never show the secret key, and a
 * gateway configured with `SWITCHBOARD_MEDIA_STORE=s3://…` serving an upload back.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import S3rver from 's3rver'
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { request as undiciRequest } from 'undici'
import type { MediaConfig } from '../../src/config.js'
import { systemClock } from '../../src/core/clock.js'
import { isGatewayError } from '../../src/core/errors.js'
import { createMediaLibrary, type MediaLibrary } from '../../src/media/index.js'
import type { Store } from '../../src/store/db.js'
import { createTeamsRepo, DEFAULT_TEAM_ID } from '../../src/store/repos/teams.js'
import { createTestStore, DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway } from '../helpers/test-gateway.js'

const BUCKET = 'switchboard-media'
const SECRET = 'S3secretKEY-do-not-log-0123456789'

/** A running s3rver with one bucket, and a client of our own to look inside it. */
async function startS3(): Promise<{ endpoint: string; client: S3Client; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-s3-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }))
  return {
    endpoint,
    client,
    async stop() {
      client.destroy()
      // The SDKs keep connections alive; close() alone would wait for them.
      server.httpServer?.closeAllConnections()
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

function s3Config(endpoint: string, overrides: Partial<Extract<MediaConfig['store'], { kind: 's3' }>> = {}): MediaConfig['store'] {
  return {
    kind: 's3',
    bucket: BUCKET,
    prefix: 'gw/media',
    endpoint,
    region: 'us-east-1',
    // s3rver checks signatures against its one account.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    ...overrides,
  }
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: S3 media store`, { skip }, () => {
    let s3: Awaited<ReturnType<typeof startS3>>
    let store: Store
    let cleanup: () => Promise<void>
    let library: MediaLibrary
    const maxBytes = 256 * 1024

    const objectKeys = async () =>
      ((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((object) => object.Key)
    const countRows = async () => Number((await store.db.selectFrom('media').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

    before(async () => {
      s3 = await startS3()
      ;({ store, cleanup } = await createTestStore(dialect))
      await createTeamsRepo({ store, clock: systemClock }).ensureDefault()
      library = createMediaLibrary({ config: { maxBytes, store: s3Config(s3.endpoint) }, db: store.db, signingKey: randomBytes(32), clock: systemClock })
    })
    after(async () => {
      await cleanup?.()
      await s3?.stop()
    })

    it('stores, reads and deletes through the bucket under the prefix', async () => {
      const bytes = randomBytes(100_000)
      const record = await library.store({
        teamId: DEFAULT_TEAM_ID,
        body: Readable.from([bytes.subarray(0, 30_000), bytes.subarray(30_000)]),
        mimeType: 'image/jpeg',
        filename: 'cat.jpg',
        source: 'inbound',
      })
      assert.equal(record.sha256, createHash('sha256').update(bytes).digest('hex'))
      const key = `gw/media/${DEFAULT_TEAM_ID}/${record.id}`
      assert.deepEqual(await objectKeys(), [key])
      const object = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      assert.equal(object.ContentType, 'image/jpeg')
      assert.equal(object.ContentLength, bytes.length)

      assert.deepEqual(await library.read(record), bytes)
      const chunks: Buffer[] = []
      for await (const chunk of await library.open(record)) chunks.push(chunk as Buffer)
      assert.deepEqual(Buffer.concat(chunks), bytes)

      await library.delete(record)
      assert.deepEqual(await objectKeys(), [])
      assert.equal(await library.findById(record.id), undefined)
    })

    it('puts nothing in the bucket for a body over the limit', async () => {
      await assert.rejects(
        library.store({ teamId: DEFAULT_TEAM_ID, body: Buffer.alloc(maxBytes + 1), mimeType: 'video/mp4', filename: null, source: 'upload' }),
        (error: unknown) => isGatewayError(error) && error.code === 'GW_ERR_MEDIA_TOO_LARGE',
      )
      assert.deepEqual(await objectKeys(), [])
    })

    it('fails with GW_ERR_MEDIA_STORE_FAILED naming the bucket, never the secret key, and records nothing', async () => {
      const cases = [
        { store: s3Config(s3.endpoint, { bucket: 'no-such-bucket' }), bucket: 'no-such-bucket', code: /NoSuchBucket/ },
        // s3rver knows one account and refuses other key ids (it does not check the signature itself).
        { store: s3Config(s3.endpoint, { accessKeyId: 'AKIDunknown', secretAccessKey: SECRET }), bucket: BUCKET, code: /InvalidAccessKeyId/ },
      ]
      for (const { store: storeConfig, bucket, code } of cases) {
        const broken = createMediaLibrary({ config: { maxBytes, store: storeConfig }, db: store.db, signingKey: randomBytes(32), clock: systemClock })
        const rows = await countRows()
        let caught: unknown
        try {
          await broken.store({ teamId: DEFAULT_TEAM_ID, body: Buffer.from('x'), mimeType: 'text/plain', filename: null, source: 'upload' })
        } catch (error) {
          caught = error
        }
        assert.ok(isGatewayError(caught), String(caught))
        assert.equal(caught.code, 'GW_ERR_MEDIA_STORE_FAILED')
        assert.equal(caught.httpStatus, 503)
        assert.ok(caught.message.includes(`"${bucket}"`), caught.message)
        assert.match(caught.message, code)
        assert.ok(!caught.message.includes(SECRET))
        assert.ok(!JSON.stringify(caught).includes(SECRET))
        assert.equal(await countRows(), rows)
      }
      assert.deepEqual(await objectKeys(), [])
    })

    it('serves an upload back from a gateway configured with the S3 store', async () => {
      const gw = await startTestGateway({ dialect, env: { media: { maxBytes, store: s3Config(s3.endpoint, { prefix: '' }) } } })
      try {
        const bytes = randomBytes(20_000)
        const up = await gw.request('POST', '/api/media?filename=clip.ogg', { rawBody: bytes, headers: { 'content-type': 'audio/ogg; codecs=opus' } })
        assert.equal(up.status, 201, up.text)
        assert.equal(up.body.mime_type, 'audio/ogg; codecs=opus')
        assert.ok((await objectKeys()).includes(`${DEFAULT_TEAM_ID}/${up.body.id}`))

        const got = await undiciRequest(`${gw.baseUrl}/api/media/${up.body.id}`, { headers: { authorization: `Bearer ${gw.adminToken}` } })
        assert.equal(got.statusCode, 200)
        assert.equal(got.headers['content-type'], 'audio/ogg; codecs=opus')
        assert.equal(got.headers['content-length'], String(bytes.length))
        assert.deepEqual(Buffer.from(await got.body.arrayBuffer()), bytes)

        const url = new URL(gw.gateway.media.signedUrl(gw.baseUrl, up.body.id))
        const linked = await undiciRequest(url)
        assert.equal(linked.statusCode, 200)
        assert.deepEqual(Buffer.from(await linked.body.arrayBuffer()), bytes)
      } finally {
        await gw.close()
      }
    })
  })
}
