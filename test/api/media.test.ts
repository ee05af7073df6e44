/**
 * The media API over real HTTP: uploads (multipart and raw), downloads for the own team only, the size
 * limit, ETags and dispositions, and signed links that work without a token until they expire.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { request as undiciRequest } from 'undici'
import { systemClock } from '../../src/core/clock.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'
import { createTeam, type TestTeam } from './api-test-kit.js'

const MAX_BYTES = 1024 * 1024

function filesUnder(dir: string, prefix = ''): string[] {
  let names: string[]
  try {
    names = readdirSync(join(dir, prefix))
  } catch {
    return []
  }
  return names.flatMap((name) => {
    const rel = prefix === '' ? name : `${prefix}/${name}`
    return statSync(join(dir, rel)).isDirectory() ? filesUnder(dir, rel) : [rel]
  })
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: media API`, { skip }, () => {
    let gw: TestGateway
    let acme: TestTeam
    let dir: string
    let offsetMs = 0
    const clock = { now: () => systemClock.now() + offsetMs }

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'switchboard-media-api-'))
      gw = await startTestGateway({ dialect, clock, env: { media: { maxBytes: MAX_BYTES, store: { kind: 'file', dir } } } })
      acme = await createTeam(gw, 'acme')
    })
    after(async () => {
      await gw?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    /** GET with the bytes of the answer. */
    async function download(path: string, headers: Record<string, string> = {}, token: string | null = gw.adminToken) {
      const response = await undiciRequest(`${gw.baseUrl}${path}`, {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      })
      const bytes = Buffer.from(await response.body.arrayBuffer())
      return { status: response.statusCode, headers: response.headers, bytes, json: () => JSON.parse(bytes.toString('utf8')) }
    }

    async function uploadMultipart(bytes: Buffer, filename: string, type: string, token = gw.adminToken, field = 'file') {
      const form = new FormData()
      form.append('caption', 'ignored')
      form.append(field, new Blob([new Uint8Array(bytes)], { type }), filename)
      const response = await fetch(`${gw.baseUrl}/api/media`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } })
      return { status: response.status, body: (await response.json()) as any }
    }

    const countRows = async () =>
      Number((await gw.gateway.store.db.selectFrom('media').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

    it('stores a multipart upload and serves the same bytes back to its team', async () => {
      const bytes = randomBytes(200_000)
      const res = await uploadMultipart(bytes, 'photo.png', 'image/png')
      assert.equal(res.status, 201, JSON.stringify(res.body))
      assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'filename', 'id', 'mime_type', 'sha256', 'size'])
      assert.match(res.body.id, /^med_/)
      assert.equal(res.body.mime_type, 'image/png')
      assert.equal(res.body.size, bytes.length)
      assert.equal(res.body.sha256, sha256(bytes))
      assert.equal(res.body.filename, 'photo.png')

      const got = await download(`/api/media/${res.body.id}`)
      assert.equal(got.status, 200)
      assert.deepEqual(got.bytes, bytes)
      assert.equal(got.headers['content-type'], 'image/png')
      assert.equal(got.headers['content-length'], String(bytes.length))
      assert.equal(got.headers['etag'], `"${sha256(bytes)}"`)
      assert.equal(got.headers['x-content-type-options'], 'nosniff')
      assert.equal(got.headers['content-disposition'], 'inline; filename="photo.png"')
    })

    it('stores raw bytes with their Content-Type and ?filename=, served as a download with the name', async () => {
      const bytes = Buffer.from('%PDF-1.7 not really a pdf')
      const res = await gw.request('POST', '/api/media?filename=Re%CC%81sume%CC%81%202026.pdf', {
        rawBody: bytes,
        headers: { 'content-type': 'application/pdf' },
      })
      assert.equal(res.status, 201, res.text)
      assert.equal(res.body.mime_type, 'application/pdf')
      assert.equal(res.body.sha256, sha256(bytes))
      // Decomposed accents (as macOS writes them) are stored composed.
      assert.equal(res.body.filename, 'R\u00e9sum\u00e9 2026.pdf')
      const got = await download(`/api/media/${res.body.id}`)
      assert.deepEqual(got.bytes, bytes)
      assert.equal(got.headers['content-type'], 'application/pdf')
      assert.equal(
        got.headers['content-disposition'],
        `attachment; filename="R_sum_ 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`,
      )
    })

    it('serves HTML or SVG as a sandboxed download, never as a page', async () => {
      const res = await gw.request('POST', '/api/media', { rawBody: '<svg onload="alert(1)"/>', headers: { 'content-type': 'image/svg+xml' } })
      assert.equal(res.status, 201, res.text)
      const got = await download(`/api/media/${res.body.id}`)
      assert.equal(got.headers['content-disposition'], `attachment; filename="${res.body.id}"`)
      assert.equal(got.headers['content-security-policy'], "default-src 'none'; sandbox")
    })

    it('answers 304 to a matching If-None-Match', async () => {
      const bytes = Buffer.from('etag me')
      const res = await gw.request('POST', '/api/media', { rawBody: bytes, headers: { 'content-type': 'text/plain' } })
      const etag = `"${sha256(bytes)}"`
      const fresh = await download(`/api/media/${res.body.id}`, { 'if-none-match': `"other", ${etag}` })
      assert.equal(fresh.status, 304)
      assert.equal(fresh.bytes.length, 0)
      assert.equal(fresh.headers['etag'], etag)
      const stale = await download(`/api/media/${res.body.id}`, { 'if-none-match': '"other"' })
      assert.equal(stale.status, 200)
      assert.deepEqual(stale.bytes, bytes)
    })

    it("never shows one team's media to another", async () => {
      const res = await gw.request('POST', '/api/media', { rawBody: 'default team only', headers: { 'content-type': 'text/plain' } })
      assert.equal(res.status, 201)
      const other = await download(`/api/media/${res.body.id}`, {}, acme.admin)
      assert.equal(other.status, 404)
      assert.equal(other.json().error.code, 'not_found')
      // Acme's own upload is acme's.
      const own = await uploadMultipart(Buffer.from('acme bytes'), 'a.txt', 'text/plain', acme.member)
      assert.equal(own.status, 201)
      assert.equal((await download(`/api/media/${own.body.id}`, {}, acme.admin)).status, 200)
      assert.equal((await download('/api/media/med_nope')).status, 404)
      assert.equal((await download(`/api/media/${own.body.id}`, {}, null)).status, 401)
    })

    it('refuses a file over the limit with 413, storing nothing (raw, chunked and multipart)', async () => {
      const rows = await countRows()
      const files = filesUnder(dir).length
      const big = Buffer.alloc(MAX_BYTES + 1, 7)

      const raw = await gw.request('POST', '/api/media', { rawBody: big, headers: { 'content-type': 'video/mp4' } })
      assert.equal(raw.status, 413)
      assert.equal(raw.body.error.code, 'media_too_large')
      assert.match(raw.body.error.message, /at most 1 MB \(1048576 bytes\)/)

      // Without a Content-Length, the count stops the upload.
      const chunked = await undiciRequest(`${gw.baseUrl}/api/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'video/mp4' },
        body: Readable.from((function* () {
          for (let i = 0; i < 20; i++) yield Buffer.alloc(64 * 1024, i)
        })()),
      })
      assert.equal(chunked.statusCode, 413)
      const chunkedBody = (await chunked.body.json()) as any
      assert.equal(chunkedBody.error.code, 'media_too_large')
      assert.match(chunkedBody.error.message, /at most 1 MB \(1048576 bytes\)/)

      const multipart = await uploadMultipart(big, 'big.mp4', 'video/mp4')
      assert.equal(multipart.status, 413)
      assert.equal(multipart.body.error.code, 'media_too_large')

      assert.equal(await countRows(), rows)
      assert.equal(filesUnder(dir).length, files)
      // The gateway still answers on fresh connections and the limit itself is accepted.
      const exact = await gw.request('POST', '/api/media', { rawBody: Buffer.alloc(MAX_BYTES, 1), headers: { 'content-type': 'video/mp4' } })
      assert.equal(exact.status, 201)
    })

    it('refuses an empty upload, a JSON body and a form without a "file" part', async () => {
      const empty = await gw.request('POST', '/api/media', { rawBody: Buffer.alloc(0), headers: { 'content-type': 'image/png' } })
      assert.equal(empty.status, 422)
      assert.equal(empty.body.error.code, 'missing_field')
      const emptyFile = await uploadMultipart(Buffer.alloc(0), 'e.png', 'image/png')
      assert.equal(emptyFile.status, 422)
      const json = await gw.request('POST', '/api/media', { body: { url: 'https://example.com/a.png' } })
      assert.equal(json.status, 415)
      assert.equal(json.body.error.code, 'unsupported_media_type')
      const wrongField = await uploadMultipart(Buffer.from('x'), 'x.png', 'image/png', gw.adminToken, 'attachment')
      assert.equal(wrongField.status, 422)
      assert.equal(wrongField.body.error.field, 'file')
      // Fastify refuses a Content-Type it cannot read before the route runs.
      const badType = await gw.request('POST', '/api/media', { rawBody: 'x', headers: { 'content-type': 'not a type' } })
      assert.equal(badType.status, 415)
      assert.equal(badType.body.error.code, 'unsupported_media_type')
      const unauthenticated = await gw.request('POST', '/api/media', { token: null, rawBody: 'x', headers: { 'content-type': 'text/plain' } })
      assert.equal(unauthenticated.status, 401)
      // The other API routes still insist on JSON.
      const team = await gw.request('POST', '/api/teams', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      assert.equal(team.status, 415)
    })

    it('answers 400 to a multipart body that is not a well-formed form, storing nothing (found by test/fuzz)', async () => {
      const before = await countRows()
      const head = '--fz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'
      // Not a form at all; a boundary and nothing after it; a file part cut short.
      for (const body of ['(R 1*.Ej', '--fz\r\n', `${head}abc`, `${head}abc\r\n--fz`]) {
        const res = await gw.request('POST', '/api/media', { rawBody: body, headers: { 'content-type': 'multipart/form-data; boundary=fz' } })
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`)
        assert.equal(res.body.error.code, 'malformed_request')
        assert.match(res.body.error.message, /multipart\/form-data body could not be read/)
      }
      assert.equal(await countRows(), before)
      const whole = await gw.request('POST', '/api/media', { rawBody: `${head}abc\r\n--fz--\r\n`, headers: { 'content-type': 'multipart/form-data; boundary=fz' } })
      assert.equal(whole.status, 201, whole.text)
    })

    it('serves a signed link without a token until it expires; a bad signature gets 403', async () => {
      const bytes = Buffer.from('signed bytes')
      const res = await gw.request('POST', '/api/media?filename=notes.txt', { rawBody: bytes, headers: { 'content-type': 'text/plain' } })
      const url = new URL(gw.gateway.media.signedUrl(gw.baseUrl, res.body.id))
      const path = `${url.pathname}${url.search}`
      const got = await download(path, {}, null)
      assert.equal(got.status, 200)
      assert.deepEqual(got.bytes, bytes)
      assert.equal(got.headers['etag'], `"${sha256(bytes)}"`)
      assert.equal(got.headers['content-disposition'], 'attachment; filename="notes.txt"')
      assert.equal((await download(path, { 'if-none-match': `"${sha256(bytes)}"` }, null)).status, 304)

      const signature = url.searchParams.get('signature')!
      const tampered = new URL(url)
      tampered.searchParams.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1))
      for (const bad of [`${tampered.pathname}${tampered.search}`, url.pathname, `${url.pathname}?expires=${url.searchParams.get('expires')}`]) {
        const denied = await download(bad, {}, null)
        assert.equal(denied.status, 403, bad)
        assert.equal(denied.json().error.code, 'invalid_signature')
      }
      // A valid signature for an id that does not exist.
      const missing = new URL(gw.gateway.media.signedUrl(gw.baseUrl, 'med_0000000000nothing0000000000'))
      assert.equal((await download(`${missing.pathname}${missing.search}`, {}, null)).status, 404)

      offsetMs = 6 * 3_600_000 + 5_000
      try {
        const expired = await download(path, {}, null)
        assert.equal(expired.status, 403)
        assert.equal(expired.json().error.code, 'invalid_signature')
      } finally {
        offsetMs = 0
      }
    })
  })
}
