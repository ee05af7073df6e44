// Retention and erasure (SPEC §13) end to end on Meta, over real HTTP, on each database and with each media
// store (files, and S3 on a real s3rver): a channel's `retention_days` erases exactly its messages older than
// that, with the media they own, rows and bytes, by the daily sweep (run often here, with a clock the test
// moves), keeping media a newer message still names and the team's uploads; `DELETE /api/conversations/{id}`
// erases the conversation, its messages, their media and its queued jobs and event deliveries, and nothing
// of another conversation; members get 403 and other teams 404.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import S3rver from 's3rver'
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { systemClock, type Clock } from '../../src/core/clock.js'
import type { MediaConfig } from '../../src/config.js'
import { DEFAULT_TEAM_ID } from '../../src/store/repos/teams.js'
import { FakeBot } from '../helpers/fake-bot.js'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { createTeam } from '../api/api-test-kit.js'
import { channelMessages, eventually, PNID_1, PNID_2, setupMeta, WABA_1, type MetaSetup } from './meta-kit.js'

const BOT_SECRET = 'retention-bot-secret-41c9'
const BUCKET = 'switchboard-retention'
const DAY = 24 * 3_600_000

/** The system clock plus an offset the test moves. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0
  return { now: () => systemClock.now() + offset, advance: (ms) => (offset += ms) }
}

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
      server.httpServer?.closeAllConnections()
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

let s3: Awaited<ReturnType<typeof startS3>> | undefined
after(async () => s3?.stop())

for (const dialect of DIALECTS) {
  for (const storeKind of ['file', 's3'] as const) {
    describe(`${dialect}, ${storeKind} media store: retention and erasure`, async () => {
      const skip = await skipReason(dialect)
      const clock = movableClock()
      const prefix = `gw-${randomBytes(4).toString('hex')}`
      let meta: MetaSetup
      let bot: FakeBot
      let sequence = 0

      before(async () => {
        if (skip) return
        bot = await FakeBot.start({ secret: BOT_SECRET })
        let media: MediaConfig | undefined
        if (storeKind === 's3') {
          s3 ??= await startS3()
          media = {
            maxBytes: 1024 * 1024,
            store: { kind: 's3', bucket: BUCKET, prefix, endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true },
          }
        }
        meta = await setupMeta(dialect, {
          bot: { type: 'http', url: bot.url, secret: BOT_SECRET },
          clock,
          // A failed bot call or event delivery waits a minute: the jobs stay queued while the test looks.
          tuning: { retentionSweepMs: 100, retryBackoff: { baseMs: 60_000, maxMs: 60_000 } },
          ...(media ? { env: { media } } : {}),
        })
      })
      after(async () => {
        if (skip) return
        await meta.close()
        await bot.close()
      })

      const db = () => meta.gw.gateway.store.db

      /** Whether the media store holds bytes under the storage key. */
      async function bytesExist(storageKey: string): Promise<boolean> {
        const store = meta.gw.config.media.store
        assert.equal(store.kind, storeKind)
        if (store.kind === 'file') return existsSync(join(store.dir, storageKey))
        const key = `${prefix}/${storageKey}`
        const listed = await s3!.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }))
        return (listed.Contents ?? []).some((object) => object.Key === key)
      }

      /** The media row of `id`, or undefined. */
      const mediaRow = (id: string) => db().selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst()

      /** Posts an image from `from` to `pnid`, timestamped by the test clock (its bytes served by the fake Graph API). */
      async function postImage(pnid: string, from: string, caption: string): Promise<void> {
        sequence++
        const graphId = `${9_000_000 + sequence}${randomBytes(3).toString('hex')}`
        const bytes = randomBytes(2_000 + sequence)
        meta.graph.addMedia(graphId, bytes, 'image/jpeg')
        const image = { id: graphId, mime_type: 'image/jpeg', sha256: createHash('sha256').update(bytes).digest('base64'), caption }
        assert.equal(await meta.post(webhook(pnid, from, { type: 'image', image })), 200)
      }

      async function postText(pnid: string, from: string, text: string): Promise<void> {
        sequence++
        assert.equal(await meta.post(webhook(pnid, from, { type: 'text', text: { body: text } })), 200)
      }

      function webhook(pnid: string, from: string, message: Record<string, unknown>): object {
        const display = pnid === PNID_1 ? '15550101234' : '15550109876'
        return {
          object: 'whatsapp_business_account',
          entry: [
            {
              id: WABA_1,
              changes: [
                {
                  field: 'messages',
                  value: {
                    messaging_product: 'whatsapp',
                    metadata: { display_phone_number: display, phone_number_id: pnid },
                    contacts: [{ profile: { name: `P${from.slice(-2)}` }, wa_id: from }],
                    messages: [{ from, id: `wamid.ret.${sequence}.${randomBytes(4).toString('hex')}`, timestamp: String(Math.floor(clock.now() / 1000)), ...message }],
                  },
                },
              ],
            },
          ],
        }
      }

      /** The channel's message (via the API) whose text is `text`, once it satisfies `ready`. */
      async function messageWith(channelId: string, text: string, ready: (message: any) => boolean = () => true): Promise<any> {
        return eventually(async () => (await channelMessages(meta.gw, channelId)).find((m) => m.text === text && ready(m)), 15_000, `message "${text}"`)
      }

      /** The channel's conversation with `phone`. */
      async function conversationOf(channelId: string, phone: string): Promise<any> {
        const listed = await meta.gw.request('GET', `/api/channels/${channelId}/conversations?limit=200`)
        assert.equal(listed.status, 200, listed.text)
        const found = listed.body.data.find((c: any) => c.participant.phone === phone)
        assert.ok(found, `a conversation with ${phone}`)
        return found
      }

      const stored = (m: any) => m.media?.status === 'stored'

      it('takes retention_days from 1 to 3650, shows it, and clears it with null', { skip }, async () => {
        const channelId = meta.channels[PNID_1]!
        assert.equal((await meta.gw.request('GET', `/api/channels/${channelId}`)).body.retention_days, null, 'unset: kept')
        for (const value of [0, 3651, 1.5, '30', -1]) {
          const res = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { retention_days: value } })
          assert.equal(res.status, 422, `${value}: ${res.text}`)
          assert.equal(res.body.error.field, 'retention_days')
        }
        const set = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { retention_days: 3650 } })
        assert.equal(set.status, 200, set.text)
        assert.equal(set.body.retention_days, 3650)
        assert.equal((await meta.gw.request('GET', `/api/channels/${channelId}`)).body.retention_days, 3650)
        const cleared = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { retention_days: null } })
        assert.equal(cleared.status, 200, cleared.text)
        assert.equal(cleared.body.retention_days, null)
      })

      it('DELETE /api/conversations/{id} erases the conversation, its messages, media and jobs, and nothing else', { skip }, async () => {
        const channelId = meta.channels[PNID_2]!
        const [c, d] = ['27830000031', '27830000032']
        // Event deliveries to a receiver that is down stay queued, in lanes of each conversation.
        const hook = await meta.gw.request('POST', '/api/webhooks', { body: { url: 'http://127.0.0.1:9/events', events: ['message.received'] } })
        assert.equal(hook.status, 201, hook.text)
        // The bot fails: each inbound message keeps a queued job (its media already fetched and stored).
        bot.behaviour = { kind: 'status', status: 500 }
        try {
          await postImage(PNID_2, c, 'erase me')
          await postText(PNID_2, c, 'and this')
          await postImage(PNID_2, d, 'keep me')
          const erased = await messageWith(channelId, 'erase me', stored)
          const kept = await messageWith(channelId, 'keep me', stored)
          const conversationC = erased.conversation_id as string
          const conversationD = kept.conversation_id as string
          const erasedMedia = (await mediaRow(erased.media.id))!
          const keptMedia = (await mediaRow(kept.media.id))!
          assert.ok(await bytesExist(erasedMedia.storage_key))
          assert.ok(await bytesExist(keptMedia.storage_key))
          const jobsOf = (conversationId: string) =>
            db().selectFrom('jobs').select(['id', 'lane', 'state']).where('lane', 'like', `%:${conversationId}%`).execute()
          // Each conversation has its inbound jobs and its event deliveries queued.
          await eventually(async () => {
            const jobs = await jobsOf(conversationC)
            return jobs.some((j) => j.lane === `conv:${conversationC}:in` && j.state === 'pending') && jobs.some((j) => j.lane?.startsWith('evt:'))
          }, 15_000, "conversation C's queued jobs")
          await eventually(async () => (await jobsOf(conversationD)).length >= 2, 15_000, "conversation D's queued jobs")
          const jobsOfD = await jobsOf(conversationD)
          // A message's media link is signed afresh at each read, its expiry a whole second: two reads either
          // side of a second's turn differ there and only there, so the links are compared without it.
          const unsigned = (messages: any[]) =>
            JSON.parse(JSON.stringify(messages).replace(/\?expires=\d+&signature=[\w-]+/g, '?signed'))
          const messagesOfD = unsigned((await meta.gw.request('GET', `/api/conversations/${conversationD}/messages`)).body.data)

          // A member may not erase; another team finds no such conversation. Neither changes anything.
          const member = await meta.gw.request('POST', `/api/teams/${DEFAULT_TEAM_ID}/tokens`, { body: { name: 'member', role: 'member' } })
          assert.equal(member.status, 201, member.text)
          const refused = await meta.gw.request('DELETE', `/api/conversations/${conversationC}`, { token: member.body.token })
          assert.equal(refused.status, 403, refused.text)
          assert.equal(refused.body.error.code, 'forbidden')
          const other = await createTeam(meta.gw, `other-${dialect}-${storeKind}`)
          const foreign = await meta.gw.request('DELETE', `/api/conversations/${conversationC}`, { token: other.admin })
          assert.equal(foreign.status, 404, foreign.text)
          assert.equal(foreign.body.error.code, 'not_found')
          assert.equal((await meta.gw.request('GET', `/api/conversations/${conversationC}/messages`)).body.data.length, 2)
          assert.ok((await jobsOf(conversationC)).length >= 2, 'the jobs are still there')

          const before = await db().selectFrom('jobs').select('id').where('lane', 'like', 'evt:%').execute()
          const res = await meta.gw.request('DELETE', `/api/conversations/${conversationC}`)
          assert.equal(res.status, 204, res.text)
          assert.equal(res.text, '')

          // Gone: the conversation, its messages, its media (row and bytes), its jobs.
          const gone = await meta.gw.request('GET', `/api/conversations/${conversationC}/messages`)
          assert.equal(gone.status, 404, gone.text)
          assert.equal((await db().selectFrom('conversations').select('id').where('id', '=', conversationC).execute()).length, 0)
          assert.equal((await db().selectFrom('messages').select('id').where('conversation_id', '=', conversationC).execute()).length, 0)
          assert.equal(await mediaRow(erased.media.id), undefined)
          assert.equal(await bytesExist(erasedMedia.storage_key), false, 'the bytes are deleted from the media store')
          assert.deepEqual(await jobsOf(conversationC), [])
          assert.equal((await meta.gw.request('GET', `/api/channels/${channelId}/conversations`)).body.data.some((x: any) => x.id === conversationC), false)
          // Erasure makes no events: no delivery job was added.
          const after = await db().selectFrom('jobs').select('id').where('lane', 'like', 'evt:%').execute()
          assert.ok(after.every((job) => before.some((b) => b.id === job.id)), 'no new event deliveries')
          assert.equal((await meta.gw.request('DELETE', `/api/conversations/${conversationC}`)).status, 404, 'a second DELETE finds nothing')

          // Kept: the other conversation, whole.
          assert.deepEqual(unsigned((await meta.gw.request('GET', `/api/conversations/${conversationD}/messages`)).body.data), messagesOfD)
          assert.deepEqual(await mediaRow(kept.media.id), keptMedia)
          assert.ok(await bytesExist(keptMedia.storage_key))
          assert.deepEqual((await jobsOf(conversationD)).map((j) => j.id).sort(), jobsOfD.map((j) => j.id).sort())
        } finally {
          bot.behaviour = { kind: 'echo' }
          await meta.gw.request('DELETE', `/api/webhooks/${hook.body.id}`)
        }
      })

      it('erases exactly the messages older than retention_days, with the media only they named, rows and bytes', { skip }, async () => {
        const channelId = meta.channels[PNID_1]!
        const [a, b] = ['+27830000011', '+27830000012']
        // The team's upload, sent in an old message: the team's file, kept.
        const upload = await meta.gw.request('POST', '/api/media?filename=card.png', { rawBody: randomBytes(3_000), headers: { 'content-type': 'image/png' } })
        assert.equal(upload.status, 201, upload.text)

        // Day 0: A and B send photos (the bot echoes the captions); A's conversation gets the upload.
        await postImage(PNID_1, a.slice(1), 'old A')
        await postImage(PNID_1, b.slice(1), 'old B')
        await postText(PNID_1, a.slice(1), 'old text')
        const oldA = await messageWith(channelId, 'old A', stored)
        const oldB = await messageWith(channelId, 'old B', stored)
        await messageWith(channelId, 'old text', (m) => m.direction === 'out')
        const sentUpload = await meta.gw.request('POST', `/api/conversations/${oldA.conversation_id}/messages`, {
          body: { message: { type: 'image', media_id: upload.body.id } },
        })
        assert.equal(sentUpload.status, 202, sentUpload.text)
        await eventually(async () => (await channelMessages(meta.gw, channelId)).filter((m) => m.direction === 'out').length >= 4, 15_000, 'the replies')

        // 31 days on: A writes again, and an agent sends A's old photo back (a newer message names it).
        clock.advance(31 * DAY)
        const oldMessages = await channelMessages(meta.gw, channelId)
        await postImage(PNID_1, a.slice(1), 'new A')
        const newA = await messageWith(channelId, 'new A', stored)
        const resent = await meta.gw.request('POST', `/api/conversations/${oldA.conversation_id}/messages`, {
          body: { message: { type: 'image', media_id: oldA.media.id, caption: 'your photo' } },
        })
        assert.equal(resent.status, 202, resent.text)
        await messageWith(channelId, 'new A', (m) => m.direction === 'out')
        const newMessages = (await channelMessages(meta.gw, channelId)).filter((m) => !oldMessages.some((o) => o.id === m.id))
        assert.equal(newMessages.length, 3, 'the new photo, its echo and the photo sent back')

        const rows = {
          oldA: (await mediaRow(oldA.media.id))!,
          oldB: (await mediaRow(oldB.media.id))!,
          newA: (await mediaRow(newA.media.id))!,
          upload: (await mediaRow(upload.body.id))!,
        }
        for (const row of Object.values(rows)) assert.ok(await bytesExist(row.storage_key), row.id)
        // Nothing is old enough for a retention of 3650 days.
        await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { retention_days: 3650 } })
        await new Promise((resolve) => setTimeout(resolve, 300))
        assert.equal((await channelMessages(meta.gw, channelId)).length, oldMessages.length + newMessages.length)

        const patched = await meta.gw.request('PATCH', `/api/channels/${channelId}`, { body: { retention_days: 30 } })
        assert.equal(patched.status, 200, patched.text)
        assert.equal(patched.body.retention_days, 30)
        // The sweep (every 100 ms here, daily by default) erases the 31-day-old messages.
        await eventually(async () => (await channelMessages(meta.gw, channelId)).length === newMessages.length, 15_000, 'the old messages erased')
        await new Promise((resolve) => setTimeout(resolve, 300))
        const left = await channelMessages(meta.gw, channelId)
        assert.deepEqual(left.map((m) => m.id).sort(), newMessages.map((m) => m.id).sort(), 'exactly the newer messages stay')
        for (const message of oldMessages) {
          assert.equal((await db().selectFrom('messages').select('id').where('id', '=', message.id).execute()).length, 0, message.id)
        }
        // Conversations stay (the participant, opt-out), empty when all their messages were old.
        assert.equal((await meta.gw.request('GET', `/api/conversations/${oldB.conversation_id}/messages`)).body.data.length, 0)
        await conversationOf(channelId, b)

        // B's old photo: row and bytes gone. A's old photo: a newer message names it, kept. The new one and
        // the team's upload: kept.
        assert.equal(await mediaRow(oldB.media.id), undefined)
        assert.equal(await bytesExist(rows.oldB.storage_key), false, "the old photo's bytes are deleted from the media store")
        const same = (row: { id: string; storage_key: string; sha256: string } | undefined) => row && { id: row.id, storage_key: row.storage_key, sha256: row.sha256 }
        for (const name of ['oldA', 'newA', 'upload'] as const) {
          assert.deepEqual(same(await mediaRow(rows[name].id)), same(rows[name]), name)
          assert.ok(await bytesExist(rows[name].storage_key), `${name}: bytes kept`)
        }
        const photo = await meta.gw.request('GET', `/api/media/${oldA.media.id}`)
        assert.equal(photo.status, 200, 'a kept photo still serves')

        // A's old photo goes once the message naming it is old too.
        clock.advance(31 * DAY)
        await eventually(async () => (await channelMessages(meta.gw, channelId)).length === 0, 15_000, 'the rest erased')
        await eventually(async () => (await mediaRow(oldA.media.id)) === undefined, 5_000, "A's old photo erased")
        // Rows first, then bytes (media/erasure.ts): the batch's bytes go a moment after its commit.
        await eventually(async () => !(await bytesExist(rows.oldA.storage_key)) && !(await bytesExist(rows.newA.storage_key)), 5_000, 'their bytes deleted')
        assert.deepEqual(same(await mediaRow(rows.upload.id)), same(rows.upload), 'the upload stays')
        assert.ok(await bytesExist(rows.upload.storage_key))
      })
    })
  }
}
