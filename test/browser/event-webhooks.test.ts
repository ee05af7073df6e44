/**
 * The Event webhooks page in a real browser against the sandbox: a subscription is created (its
 * generated signing secret shown once, masked after), refused with the API's words when its URL is not
 * one, listed with its events, sent real events (a receiver on 127.0.0.1 checks each signature) whose
 * deliveries the page lists, edited, turned off (no more deliveries) and on, and deleted after a
 * confirmation. A subscription nobody answers shows its failed attempts with the error.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { request } from 'undici'
import { SANDBOX_NUMBERS, SANDBOX_USER } from '../../src/sandbox/sandbox.js'
import { chromiumOrSkip, navTo, startRig } from './browser-kit.js'

interface Received {
  headers: IncomingHttpHeaders
  raw: string
  event: { id: string; type: string; data: any }
}

/** A team's system: takes every event POSTed to it and answers 204. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      received.push({ headers: req.headers, raw, event: JSON.parse(raw) })
      res.writeHead(204)
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

test('event webhooks: create (secret once), list, deliveries, edit, disable, delete', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const { page, sandbox } = rig
  const main = page.locator('#main')
  const admin = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const response = await request(`${sandbox.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.body.text()
    return { status: response.statusCode, body: text === '' ? null : JSON.parse(text) }
  }
  const userSays = async (text: string) => {
    const answer = await sandbox.standIn.userSays({ number: SANDBOX_NUMBERS[0]!, from: SANDBOX_USER.phone, name: SANDBOX_USER.name, text })
    assert.equal(answer.statusCode, 200, answer.text)
  }
  /** Waits until `done` holds (the gateway delivers on its own). */
  const until = async (done: () => boolean | Promise<boolean>, what: string, ms = 15_000) => {
    const deadline = performance.now() + ms
    while (!(await done())) {
      if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const card = () => main.locator(`[data-webhook]`, { hasText: receiver.url })
  let secret = ''
  let webhookId = ''

  await page.goto(sandbox.consoleUrl)
  await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()

  await t.test('the page is in the navigation, and says when there is nothing yet', async () => {
    await navTo(page, 'Event webhooks')
    await main.getByText('No subscriptions yet').waitFor()
  })

  await t.test('a subscription needs events and a real URL: the form says so, in the API’s words for the URL', async () => {
    await main.getByLabel('URL', { exact: true }).fill('ftp://example.com/events')
    await main.getByRole('button', { name: 'Create subscription' }).click()
    await main.locator('[data-field="events"] .field-error', { hasText: 'Tick at least one event.' }).waitFor()
    await main.getByLabel(/^message\.received/).check()
    await main.getByRole('button', { name: 'Create subscription' }).click()
    const urlError = main.locator('[data-field="url"] .field-error')
    await urlError.waitFor()
    assert.match(await urlError.innerText(), /http/)
    assert.equal(await main.getByLabel('URL', { exact: true }).getAttribute('aria-invalid'), 'true')
    assert.equal((await admin('GET', '/api/webhooks')).body.data.length, 0)
  })

  await t.test('created: its generated secret is shown once, with a copy button; listed with its events', async () => {
    await main.getByLabel('URL', { exact: true }).fill(receiver.url)
    await main.getByLabel(/^message\.sent/).check()
    await main.getByLabel('Description (optional)').fill('Our CRM')
    await main.getByRole('button', { name: 'Create subscription' }).click()
    const once = main.locator('[data-secret-once]')
    await once.locator('[data-secret]').waitFor()
    secret = await once.locator('[data-secret]').innerText()
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/)
    assert.match(await once.innerText(), /shown only this once/)
    await once.getByRole('button', { name: 'Copy signing secret' }).waitFor()

    await card().waitFor()
    assert.match(await card().innerText(), /Our CRM/)
    assert.deepEqual(await card().locator('.event-chip').allInnerTexts(), ['message.received', 'message.sent'])
    assert.equal(await card().locator('[data-enabled]').innerText(), 'Enabled')
    webhookId = (await card().getAttribute('data-webhook'))!
    const stored = (await admin('GET', `/api/webhooks/${webhookId}`)).body
    assert.deepEqual(stored.events, ['message.received', 'message.sent'])
    // The card shows the secret as the API masks it, never in full.
    assert.notEqual(stored.secret, secret)
    assert.equal(await card().locator('code', { hasText: stored.secret }).count(), 1)
    await rig.screenshot('70-webhooks-created')

    // Shown once: gone on the next visit.
    await page.reload()
    await card().waitFor()
    assert.equal(await main.locator('[data-secret]').count(), 0)
    assert.ok(!(await main.innerText()).includes(secret), 'the full secret is not on the page any more')
  })

  await t.test('events reach the receiver signed, and its deliveries are listed', async () => {
    await userSays('hello events')
    await until(() => receiver.received.some((r) => r.event.type === 'message.received' && r.event.data?.message?.text === 'hello events'), 'message.received at the receiver')
    const delivery = receiver.received.find((r) => r.event.type === 'message.received')!
    assert.equal(delivery.headers['x-switchboard-signature'], `sha256=${createHmac('sha256', secret).update(delivery.raw).digest('hex')}`)
    assert.equal(delivery.headers['x-switchboard-event'], 'message.received')
    assert.equal(delivery.headers['idempotency-key'], delivery.event.id)
    await until(() => receiver.received.some((r) => r.event.type === 'message.sent'), 'message.sent (the bot’s answer) at the receiver')

    await card().getByText('Recent deliveries').click()
    const rows = card().locator('[data-deliveries] tbody tr')
    const received = rows.and(page.locator('[data-event-type="message.received"]'))
    await received.first().waitFor()
    const cells = await received.first().locator('td').allInnerTexts()
    assert.equal(cells[1], 'message.received')
    assert.equal(cells[2], '1', 'the first attempt')
    assert.equal(cells[3], '204')
    assert.match(cells[4] ?? '', /^\d+ ms$/)
    assert.equal(cells[5], '—', 'no error')
    // The bot's answer's message.sent shows up too, while the list is open (it reads itself again).
    await rows.and(page.locator('[data-event-type="message.sent"]')).first().waitFor()
    await rig.screenshot('71-webhooks-deliveries')
  })

  await t.test('its events can be changed', async () => {
    await card().getByRole('button', { name: 'Edit events' }).click()
    const form = card().locator('form[data-edit-events]')
    await form.getByLabel(/^message\.sent/).uncheck()
    await form.getByLabel(/^conversation\.handover/).check()
    await form.getByRole('button', { name: 'Save events' }).click()
    await main.locator('.alert.ok', { hasText: 'receives 2 event types' }).waitFor()
    assert.deepEqual(await card().locator('.event-chip').allInnerTexts(), ['message.received', 'conversation.handover'])
    assert.deepEqual((await admin('GET', `/api/webhooks/${webhookId}`)).body.events, ['message.received', 'conversation.handover'])
  })

  await t.test('turned off, it gets nothing; turned on, it gets events again', async () => {
    await card().getByRole('button', { name: 'Disable' }).click()
    await card().locator('[data-enabled="false"]', { hasText: 'Disabled' }).waitFor()
    assert.equal((await admin('GET', `/api/webhooks/${webhookId}`)).body.enabled, false)
    await rig.screenshot('72-webhooks-disabled')

    await userSays('while it is off')
    // The message is handled (and its answer sent) without any delivery to the turned-off subscription.
    await until(async () => {
      const conversation = (await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)).body.data[0]
      const messages = (await admin('GET', `/api/conversations/${conversation.id}/messages?limit=200`)).body.data
      return messages.some((m: any) => m.direction === 'out' && m.status === 'read' && (m.text ?? '').includes('while it is off'))
    }, 'the bot’s answer read')
    assert.equal(receiver.received.filter((r) => r.event.data?.message?.text === 'while it is off').length, 0)

    await card().getByRole('button', { name: 'Enable' }).click()
    await card().locator('[data-enabled="true"]').waitFor()
    await userSays('on again')
    await until(() => receiver.received.some((r) => r.event.data?.message?.text === 'on again'), 'the event after turning it on')
  })

  await t.test('a receiver that does not answer: each attempt is listed with its error', async () => {
    // Nothing listens on port 9.
    const created = await admin('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/events', events: ['message.received'] })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    await userSays('is anyone listening?')
    await page.reload()
    const down = main.locator(`[data-webhook="${created.body.id}"]`)
    await down.getByText('Recent deliveries').click()
    const row = down.locator('[data-deliveries] tbody tr').first()
    await row.waitFor({ timeout: 15_000 })
    const cells = await row.locator('td').allInnerTexts()
    assert.equal(cells[1], 'message.received')
    assert.equal(cells[3], 'No answer')
    assert.ok((cells[5] ?? '').length > 5 && cells[5] !== '—', `the error is shown: ${cells[5]}`)
    await rig.screenshot('73-webhooks-failed-deliveries')
    // Deleted, so its retries end here.
    assert.equal((await admin('DELETE', `/api/webhooks/${created.body.id}`)).status, 204)
  })

  await t.test('deleted after a confirmation', async () => {
    await page.reload()
    await card().getByRole('button', { name: 'Delete', exact: true }).click()
    const confirm = card().getByRole('group', { name: 'Confirm deletion' })
    assert.match(await confirm.innerText(), /Delete the subscription to http:\/\/127\.0\.0\.1:\d+\/events\?/)
    // "Keep it" keeps it.
    await confirm.getByRole('button', { name: 'Keep it' }).click()
    assert.equal(await confirm.isVisible(), false)
    await card().getByRole('button', { name: 'Delete', exact: true }).click()
    await confirm.getByRole('button', { name: 'Delete subscription' }).click()
    await main.locator('.alert.ok', { hasText: 'Deleted the subscription' }).waitFor()
    assert.equal(await card().count(), 0)
    assert.equal((await admin('GET', `/api/webhooks/${webhookId}`)).status, 404)
    await main.getByText('No subscriptions yet').waitFor()
  })

  await t.test('phone-sized screen: the page reads at 390×844', async () => {
    const phone = await rig.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    t.after(() => phone.close())
    await admin('POST', '/api/webhooks', { url: receiver.url, events: ['message.received', 'message.failed', 'conversation.handover', 'broadcast.finished'], description: 'Support desk' })
    const small = await phone.newPage()
    await small.goto(sandbox.consoleUrl)
    await small.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()
    await small.goto(`${sandbox.gatewayUrl}/console/webhooks`)
    await small.locator('[data-webhook]').waitFor()
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`)
    await rig.screenshot('74-webhooks-phone', small)
  })
})
