/**
 * The sandbox in a real browser, from the one URL `npm run sandbox` prints: chat as a WhatsApp user and
 * see the demo bot's answer (which quotes the message) come back with its ticks (through signed webhooks, the queue, the bot and the Meta
 * stand-in), see a reply Meta refuses with its code and reason, the same thread on Conversations, and
 * a dead job (a bot that is down) on Failed work, retried once the channel has a working bot again.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { adminApi, chromiumOrSkip, navTo, startRig } from './browser-kit.js'

/** Sends `text` from the Sandbox chat page's composer, with the keyboard (Enter sends). */
async function say(page: Page, text: string): Promise<void> {
  const input = page.getByLabel(/^Message from/)
  await input.fill(text)
  await input.press('Enter')
  // Sent: the field is emptied and keeps the focus for the next message.
  await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.value === '' && document.activeElement?.getAttribute('name') === 'text')
}

/** The thread's message bubbles of one direction holding `text`. */
function bubble(page: Page, direction: 'in' | 'out', text: string, status?: string) {
  return page.locator(`#main .thread .msg.${direction}${status ? `[data-status="${status}"]` : ''}`, { hasText: text })
}

test('sandbox: chat, ticks, a refused reply, conversations, and a dead job retried', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  const admin = adminApi(sandbox)

  await t.test('the printed URL signs in, opens Sandbox chat, and leaves no token in the address bar', async () => {
    await page.goto(sandbox.consoleUrl)
    await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()
    assert.ok(!page.url().includes('token='), `the token stayed in the address bar: ${page.url()}`)
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Sandbox chat' }).waitFor()
  })

  await t.test('a message reaches the demo bot and its reply comes back sent, delivered, then read', async () => {
    await say(page, 'hello switchboard')
    await bubble(page, 'in', 'hello switchboard').waitFor()
    const reply = bubble(page, 'out', 'hello switchboard', 'read')
    await reply.waitFor()
    assert.match(await reply.locator('.status').innerText(), /✓✓\s*Read/)
    await bubble(page, 'in', 'hello switchboard', 'processed').getByText('Handled by the bot').waitFor()
    await rig.screenshot('10-sandbox-chat')
  })

  await t.test('a reply Meta refuses shows as failed with Meta’s code and reason', async () => {
    await page.getByRole('button', { name: 'Make Meta refuse the next reply' }).click()
    await page.locator('#main .alert.warn').waitFor()
    await say(page, 'this reply will fail')
    const failed = bubble(page, 'out', 'this reply will fail', 'failed')
    await failed.waitFor()
    assert.match(await failed.locator('.error').innerText(), /Not delivered\. Provider error 131026: Message undeliverable/)
    await rig.screenshot('11-sandbox-failed-reply')
  })

  await t.test('Conversations shows the same thread; Send again queues the failed reply anew', async () => {
    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    await page.getByRole('heading', { level: 2, name: /Sandbox User/ }).waitFor()
    const failed = bubble(page, 'out', 'this reply will fail', 'failed')
    await failed.getByText('Provider error 131026').waitFor()
    await bubble(page, 'out', 'hello switchboard', 'read').waitFor()
    await rig.screenshot('12-conversations')
    await failed.getByRole('button', { name: 'Send again' }).click()
    await bubble(page, 'out', 'this reply will fail', 'read').waitFor()
  })

  await t.test('a bot that is down leaves a dead job with its reason; Retry hands the message to the bot again', async () => {
    const down = await admin('POST', '/api/bots', { name: 'Down bot', type: 'http', config: { url: 'http://127.0.0.1:9/bot', secret: 'down-bot-secret-0123456789' } })
    // Point the sandbox channel at it the way a person would: on the Channels page.
    await navTo(page, 'Channels')
    const card = page.locator('[data-channel]', { hasText: '+15550100001' })
    await card.getByLabel('Answered by').selectOption(down.id)
    await card.getByRole('button', { name: 'Change bot' }).click()
    await card.getByText('now go to Down bot').waitFor()

    await navTo(page, 'Sandbox chat')
    await say(page, 'are you there')
    await bubble(page, 'in', 'are you there', 'failed').getByText('The bot could not handle it').waitFor()

    await navTo(page, 'Failed work')
    const job = page.locator('[data-job]', { hasText: 'are you there' })
    await job.getByText('Handing a message to the bot').waitFor()
    const reason = await job.locator('p', { hasText: 'Reason:' }).innerText()
    assert.ok(reason.length > 'Reason: '.length + 5, `no reason shown: ${reason}`)
    await rig.screenshot('13-failed-work')

    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { bot_id: sandbox.botId })
    await job.getByRole('button', { name: 'Retry' }).click()
    await page.locator('#main .alert.ok', { hasText: 'Retried' }).waitFor()
    await page.locator('#main .empty', { hasText: 'Nothing has failed for good' }).waitFor()

    await navTo(page, 'Sandbox chat')
    await bubble(page, 'out', 'are you there', 'read').waitFor()
    await bubble(page, 'in', 'are you there', 'processed').getByText('retried').waitFor()
    await rig.screenshot('14-sandbox-after-retry')
  })

  await t.test('phone-sized screen: Sandbox chat reads at 390×844', async () => {
    const phone = await rig.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    t.after(() => phone.close())
    const small = await phone.newPage()
    await small.goto(sandbox.consoleUrl)
    await small.locator('#main .thread .msg').first().waitFor()
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`)
    await rig.screenshot('15-sandbox-phone', small)
  })
})
