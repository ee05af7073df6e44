/**
 * A `kill -9` while inbound media is being fetched: the gateway takes signed Meta webhooks of photos
 * (each with a unique caption) while the fake Graph API answers media downloads slowly; it is SIGKILLed
 * with fetches under way and restarted on the same database. Then every acknowledged photo reached the
 * bot exactly once, with its media stored and its signed URL serving the exact bytes: the fetch is part
 * of the inbound task, which commits nothing until the bot's answer, so a fetch cut by the kill is just
 * done again.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'undici'
import { DIALECTS, skipReason, type DialectName } from '../helpers/dialects.js'
import { signMetaBody } from '../../src/providers/index.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'
import { APP_SECRET } from '../e2e/meta-kit.js'
import { botCallsPerText, configureGateway, META_PATH, startRig, summary, waitUntil } from './crash-kit.js'
const PHOTOS = 12

/** A Meta webhook of one photo from `from` to `pnid`. */
function photoWebhook(pnid: string, from: string, wamid: string, mediaId: string, bytes: Buffer, caption: string): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '104857600321987',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550101234', phone_number_id: pnid },
              contacts: [{ profile: { name: 'Crash' }, wa_id: from }],
              messages: [
                {
                  from,
                  id: wamid,
                  timestamp: '1760000000',
                  type: 'image',
                  image: { id: mediaId, mime_type: 'image/jpeg', sha256: createHash('sha256').update(bytes).digest('base64'), caption },
                },
              ],
            },
          },
        ],
      },
    ],
  })
}

async function run(dialect: DialectName): Promise<void> {
  const rig = await startRig(dialect, { numbers: 1 })
  try {
    let gateway = await GatewayProcess.start(`${dialect}-media-1`, rig.env())
    const [pnid] = await configureGateway(rig, gateway, { numbers: 1 })
    rig.balancer.setBackends([gateway.baseUrl])
    rig.bot.behaviour = { kind: 'no-content' }
    // Every Graph request waits: downloads are under way when the kill comes.
    rig.graph.setLatency(400)
    const photos = Array.from({ length: PHOTOS }, (_, i) => ({
      caption: `photo-${i}`,
      mediaId: String(900_000_000 + i),
      bytes: randomBytes(8_000 + i),
      from: `2779${String(2_000_000 + i)}`,
    }))
    for (const photo of photos) rig.graph.addMedia(photo.mediaId, photo.bytes, 'image/jpeg')
    const acked = await Promise.all(
      photos.map(async (photo, i) => {
        const raw = photoWebhook(pnid!, photo.from, `wamid.media.crash.${i}`, photo.mediaId, photo.bytes, photo.caption)
        const delivery = await rig.balancer.post(META_PATH, raw, { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, APP_SECRET) })
        return delivery.statusCode === 200
      }),
    )
    assert.ok(acked.every(Boolean), 'every photo webhook was acknowledged')
    await waitUntil(() => rig.graph.requests.some((r) => r.method === 'GET'), 20_000, () => 'a media fetch under way')
    const callsBeforeKill = rig.bot.requests.length
    gateway.kill('SIGKILL')
    await gateway.exited
    rig.graph.setLatency(0)

    gateway = await GatewayProcess.start(`${dialect}-media-2`, rig.env())
    rig.balancer.setBackends([gateway.baseUrl])
    await waitUntil(() => new Set(rig.bot.requests.map((r) => (r.body as any)?.message?.text)).size >= PHOTOS, 60_000, () => `${rig.bot.requests.length} bot calls`)
    const calls = botCallsPerText(rig.bot)
    for (const photo of photos) assert.equal(calls.get(photo.caption), 1, `${photo.caption} reached the bot ${calls.get(photo.caption) ?? 0} times`)
    for (const call of rig.bot.requests) {
      const message = (call.body as any).message
      const photo = photos.find((p) => p.caption === message.text)!
      assert.equal(message.media.status, 'stored', `${message.text}: ${message.media.error}`)
      assert.equal(message.media.sha256, createHash('sha256').update(photo.bytes).digest('hex'))
      const served = await request(message.media.url)
      assert.equal(served.statusCode, 200)
      assert.ok(Buffer.from(await served.body.arrayBuffer()).equals(photo.bytes))
    }
    summary(`${dialect} media crash`, { photos: PHOTOS, botCallsBeforeKill: callsBeforeKill, downloads: rig.graph.downloads.length })
    await gateway.stopHard()
  } finally {
    await killAllGatewayProcesses()
    await rig.close()
  }
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: kill -9 during media fetches`, async () => {
    const skip = await skipReason(dialect)
    it('loses no photo and calls the bot once for each, with its media stored', { skip, timeout: 120_000 }, () => run(dialect))
  })
}
