/**
 * The media library on a real database and the file store: staging, digests, limits, the all-or-nothing
 * rule, provider uploads, and signed links.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { systemClock } from '../../src/core/clock.js'
import { isGatewayError } from '../../src/core/errors.js'
import { createMediaLibrary, type MediaLibrary } from '../../src/media/index.js'
import { DEFAULT_TEAM_ID } from '../../src/store/repos/teams.js'
import { createTeamsRepo } from '../../src/store/repos/teams.js'
import type { Store } from '../../src/store/db.js'
import { createTestStore, DIALECTS, skipReason } from '../helpers/dialects.js'

/** Every file under `dir`, relative, skipping empty folders. */
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

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise
  } catch (error) {
    assert.ok(isGatewayError(error), `expected a catalogue error, got ${String(error)}`)
    assert.equal(error.code, code)
    return error
  }
  assert.fail(`expected ${code}`)
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: media library (file store)`, { skip }, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let dir: string
    let library: MediaLibrary
    let now = systemClock.now()
    const clock = { now: () => now }
    const maxBytes = 64 * 1024

    before(async () => {
      ;({ store, cleanup } = await createTestStore(dialect))
      await createTeamsRepo({ store, clock }).ensureDefault()
      dir = mkdtempSync(join(tmpdir(), 'switchboard-media-'))
      library = createMediaLibrary({ config: { maxBytes, store: { kind: 'file', dir } }, db: store.db, signingKey: randomBytes(32), clock })
    })
    after(async () => {
      await cleanup?.()
      rmSync(dir, { recursive: true, force: true })
    })

    const countRows = async () => Number((await store.db.selectFrom('media').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

    it('stores a stream, records its sha256 and size, and reads the same bytes back', async () => {
      const bytes = randomBytes(50_000)
      const record = await library.store({
        teamId: DEFAULT_TEAM_ID,
        body: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
        mimeType: 'image/jpeg',
        filename: 'cat.jpg',
        source: 'inbound',
      })
      assert.match(record.id, /^med_/)
      assert.equal(record.size, bytes.length)
      assert.equal(record.sha256, createHash('sha256').update(bytes).digest('hex'))
      assert.deepEqual(await library.read(record), bytes)
      assert.deepEqual(await library.find(DEFAULT_TEAM_ID, record.id), record)
      assert.equal(await library.find('team_other', record.id), undefined)
      assert.deepEqual(await library.findById(record.id), record)
      // Stored as a file at <dir>/<team>/<id>, nothing left in the staging folder.
      assert.deepEqual(filesUnder(dir), [`${DEFAULT_TEAM_ID}/${record.id}`])
    })

    it('accepts the announced digest in hex or base64, and refuses a wrong one keeping nothing', async () => {
      const bytes = Buffer.from('voice note bytes')
      const digest = createHash('sha256').update(bytes).digest()
      for (const expectedSha256 of [digest.toString('hex'), digest.toString('hex').toUpperCase(), digest.toString('base64')]) {
        const record = await library.store({ teamId: DEFAULT_TEAM_ID, body: bytes, mimeType: 'audio/ogg', filename: null, source: 'inbound', expectedSha256 })
        assert.equal(record.sha256, digest.toString('hex'))
      }
      const rows = await countRows()
      const files = filesUnder(dir).length
      const wrong = createHash('sha256').update('other').digest('base64')
      const error = await rejectsWith(
        library.store({ teamId: DEFAULT_TEAM_ID, body: bytes, mimeType: 'audio/ogg', filename: null, source: 'inbound', expectedSha256: wrong }),
        'GW_ERR_MEDIA_CHECKSUM',
      )
      assert.match(error.message, new RegExp(digest.toString('hex')))
      assert.equal(await countRows(), rows)
      assert.equal(filesUnder(dir).length, files)
    })

    it('stops reading past the limit, destroys the body and keeps nothing', async () => {
      const rows = await countRows()
      const files = filesUnder(dir).length
      let produced = 0
      const body = new Readable({
        read() {
          produced += 16 * 1024
          this.push(Buffer.alloc(16 * 1024, 1))
        },
      })
      const error = await rejectsWith(
        library.store({ teamId: DEFAULT_TEAM_ID, body, mimeType: 'video/mp4', filename: null, source: 'inbound' }),
        'GW_ERR_MEDIA_TOO_LARGE',
      )
      assert.match(error.message, /at most 65536 bytes, set by SWITCHBOARD_MEDIA_MAX_BYTES/)
      assert.equal(body.destroyed, true)
      assert.ok(produced <= maxBytes + 64 * 1024, `read ${produced} bytes of an endless body`)
      assert.equal(await countRows(), rows)
      assert.equal(filesUnder(dir).length, files)
      // Exactly the limit is accepted.
      const record = await library.store({ teamId: DEFAULT_TEAM_ID, body: Buffer.alloc(maxBytes), mimeType: 'video/mp4', filename: null, source: 'upload' })
      assert.equal(record.size, maxBytes)
    })

    it('takes the bytes back out when the row cannot be inserted', async () => {
      const files = filesUnder(dir).length
      // No such team: the row's foreign key fails after the bytes were put.
      await assert.rejects(library.store({ teamId: 'team_missing', body: Buffer.from('x'), mimeType: 'text/plain', filename: null, source: 'upload' }))
      assert.equal(filesUnder(dir).length, files)
      assert.deepEqual(readdirSync(join(dir, '.tmp')), [])
    })

    it('remembers provider uploads per provider', async () => {
      const record = await library.store({ teamId: DEFAULT_TEAM_ID, body: Buffer.from('pdf'), mimeType: 'application/pdf', filename: 'a.pdf', source: 'upload' })
      assert.equal(await library.uploadedId(record.id, 'prv_a'), null)
      await Promise.all([library.recordUpload(record.id, 'prv_a', 'meta-123'), library.recordUpload(record.id, 'prv_b', 'turn-456')])
      assert.equal(await library.uploadedId(record.id, 'prv_a'), 'meta-123')
      assert.equal(await library.uploadedId(record.id, 'prv_b'), 'turn-456')
      await library.recordUpload(record.id, 'prv_a', 'meta-789')
      assert.equal(await library.uploadedId(record.id, 'prv_a'), 'meta-789')
      // Meta forgets an uploaded id after 30 days: past 25 the bytes are uploaded again.
      const recorded = now
      now = recorded + 24 * 86_400_000
      assert.equal(await library.uploadedId(record.id, 'prv_a'), 'meta-789')
      now = recorded + 26 * 86_400_000
      assert.equal(await library.uploadedId(record.id, 'prv_a'), null)
      now = recorded
    })

    it('deletes the row and the bytes', async () => {
      const record = await library.store({ teamId: DEFAULT_TEAM_ID, body: Buffer.from('bye'), mimeType: 'text/plain', filename: null, source: 'upload' })
      await library.delete(record)
      assert.equal(await library.findById(record.id), undefined)
      assert.ok(!filesUnder(dir).includes(`${DEFAULT_TEAM_ID}/${record.id}`))
      await rejectsWith(library.open(record), 'GW_ERR_MEDIA_STORE_FAILED')
    })

    it('signs links that hold until they expire and only for their id', () => {
      const url = new URL(library.signedUrl('https://sb.example/', 'med_abc'))
      assert.equal(url.origin + url.pathname, 'https://sb.example/media/med_abc')
      const expires = url.searchParams.get('expires')!
      const signature = url.searchParams.get('signature')!
      assert.match(signature, /^[A-Za-z0-9_-]{43}$/)
      // Six hours by default.
      assert.equal(Number(expires), Math.ceil((now + 6 * 3_600_000) / 1000))
      assert.equal(library.verifySignature('med_abc', expires, signature), true)
      assert.equal(library.verifySignature('med_abd', expires, signature), false)
      assert.equal(library.verifySignature('med_abc', String(Number(expires) + 1), signature), false)
      assert.equal(library.verifySignature('med_abc', expires, signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A')), false)
      assert.equal(library.verifySignature('med_abc', undefined, signature), false)
      assert.equal(library.verifySignature('med_abc', expires, undefined), false)
      const other = createMediaLibrary({ config: { maxBytes, store: { kind: 'file', dir } }, db: store.db, signingKey: randomBytes(32), clock })
      assert.equal(other.verifySignature('med_abc', expires, signature), false)
      now += 6 * 3_600_000 + 1000
      assert.equal(library.verifySignature('med_abc', expires, signature), false)
    })
  })
}
