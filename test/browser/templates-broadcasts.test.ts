/**
 * Templates, the 24-hour window, opt-out and broadcasts in a real browser, against the sandbox: the
 * Templates page lists the stand-in's templates with their status and syncs (and shows Meta's words
 * when it refuses); the channel's messaging settings save; a conversation shows its window open, then
 * closed after the sandbox clock moves 24 hours, and a text written then goes out as the channel's
 * out-of-window template; an opt-out shows; a broadcast from a pasted CSV previews the first rows and
 * the rows it will skip, then runs to finished with its counts; a slow one (uploaded as a file) cancels.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { adminApi, chromiumOrSkip, navTo, startRig } from './browser-kit.js'

/** Sends `text` from the Sandbox chat page's composer. */
async function say(page: Page, text: string): Promise<void> {
  const input = page.getByLabel(/^Message from/)
  await input.fill(text)
  await input.press('Enter')
  await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.value === '' && document.activeElement?.getAttribute('name') === 'text')
}

test('templates, channel settings, the window, opt-out and broadcasts', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  const admin = adminApi(sandbox)
  const main = page.locator('#main')

  await page.goto(sandbox.consoleUrl)
  await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()

  await t.test('Templates lists each template with its status, category and parameters, and syncs', async () => {
    await navTo(page, 'Templates')
    const row = (key: string) => main.locator(`tr[data-template="${key}"]`)
    await row('appointment_reminder|en').waitFor()
    assert.match(await row('appointment_reminder|en').innerText(), /Hi \{\{1\}\}, this is a reminder[\s\S]*en\s+Approved\s+Utility\s+\{\{1\}\}, \{\{2\}\}/)
    assert.match(await row('order_update|en').innerText(), /Your order[\s\S]*Approved[\s\S]*first_name, order_id, delivery_date[\s\S]*named/)
    assert.match(await row('spring_sale|en').innerText(), /Pending review\s+Marketing/)
    assert.match(await row('win_a_prize|en').innerText(), /Rejected/)
    assert.match(await row('weekly_tips|en').innerText(), /Paused/)
    await main.getByText('6 templates, 3 approved').waitFor()

    await main.getByRole('button', { name: 'Sync now' }).click()
    await main.locator('.alert.ok', { hasText: 'Synced 6 templates from Sandbox Meta.' }).waitFor()
    await rig.screenshot('40-templates')

    // Meta refuses the next listing: the page shows its words, and the list stays as it was.
    sandbox.standIn.refuseNextTemplateList()
    await main.getByRole('button', { name: 'Sync now' }).click()
    const refused = main.locator('.alert.error', { hasText: 'The sync failed' })
    await refused.waitFor()
    assert.match(await refused.innerText(), /too many calls to this WhatsApp Business account/)
    assert.equal(await main.locator('tr[data-template]').count(), 6)
    await rig.screenshot('41-templates-sync-refused')
  })

  await t.test('the channel’s messaging settings show the out-of-window template and save keywords and replies', async () => {
    await navTo(page, 'Channels')
    const card = main.locator('[data-channel]', { hasText: '+15550100001' })
    await card.getByText('Messaging settings: closed window, opt-out').click()
    const form = card.locator('form[data-settings]')
    const template = form.getByLabel('Out-of-window template')
    await template.waitFor()
    assert.equal(await template.inputValue(), 'new_bot_message|en', 'the sandbox sets its one-parameter template')
    const offered = await template.locator('option').allInnerTexts()
    assert.ok(offered.some((o) => o.startsWith('None')), offered.join(' / '))
    assert.ok(!offered.some((o) => o.includes('appointment_reminder')), 'two-parameter templates are not offered')
    assert.equal(await form.getByLabel('Opt-out keywords').inputValue(), 'STOP, UNSUBSCRIBE')

    await form.getByLabel('Opt-out keywords').fill('STOP, unsubscribe, PARAR')
    await form.getByLabel('Reply to an opt-out (optional)').fill('You will get no more messages. Send START to join again.')
    await template.selectOption('')
    await form.getByRole('button', { name: 'Save settings' }).click()
    await card.locator('.alert.ok', { hasText: 'Settings of Sandbox saved.' }).waitFor()
    let channel = await admin('GET', `/api/channels/${sandbox.channelId}`)
    assert.deepEqual(channel.opt_out_keywords, ['STOP', 'unsubscribe', 'PARAR'])
    assert.equal(channel.opt_out_reply, 'You will get no more messages. Send START to join again.')
    assert.equal(channel.out_of_window_template, null)
    assert.match(await card.locator('.settings-summary').innerText(), /Closed window: texts are refused · opt-out: STOP, unsubscribe, PARAR/)

    // And back: the fallback template is picked from the provider's approved one-parameter templates.
    await card.locator('form[data-settings]').getByLabel('Out-of-window template').selectOption('new_bot_message|en')
    await card.locator('form[data-settings]').getByRole('button', { name: 'Save settings' }).click()
    await card.locator('.alert.ok', { hasText: 'Settings of Sandbox saved.' }).waitFor()
    channel = await admin('GET', `/api/channels/${sandbox.channelId}`)
    assert.deepEqual(channel.out_of_window_template, { name: 'new_bot_message', language: 'en', param: 'bot_message' })
    await rig.screenshot('42-channel-settings')
  })

  await t.test('a conversation shows its window open, closed after “advance 24 h”, and a text then goes out as the template', async () => {
    await navTo(page, 'Sandbox chat')
    await say(page, 'hello window')
    await main.locator('.thread .msg.out[data-status="read"]', { hasText: 'hello window' }).waitFor()

    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    const slot = main.locator('[data-window-slot]')
    await slot.locator('[data-window="open"]').waitFor()
    assert.match(await slot.innerText(), /Window open until/)
    await rig.screenshot('43-conversation-window-open')

    await navTo(page, 'Sandbox chat')
    await main.getByRole('button', { name: 'Advance the clock 24 hours' }).click()
    await main.locator('.alert.warn', { hasText: 'your 24-hour window has closed' }).waitFor()
    assert.match(await main.getByText(/^Sandbox time:/).innerText(), /24 hours ahead of real time/)
    await main.getByText('Your conversation:').locator('[data-window="closed"]').waitFor()
    await rig.screenshot('44-sandbox-clock-advanced')

    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    await slot.locator('[data-window="closed"]').waitFor()
    assert.match(await slot.innerText(), /Window closed since .*: only templates/)
    assert.match(await main.locator('.conv-list').innerText(), /Window closed/)

    await page.getByLabel('Write to Sandbox User (+15550200001) as the business').fill('are you still there?')
    await main.getByRole('button', { name: 'Send', exact: true }).click()
    // The text goes out as the channel's template, its parameter filled with the text.
    const fallback = main.locator('.thread .msg.out.type-template[data-status="read"]', { hasText: 'new_bot_message' })
    await fallback.waitFor()
    assert.match(await fallback.innerText(), /are you still there\?/)
    const sent = await admin('GET', `/api/conversations/${await conversationId()}/messages`)
    const last = sent.data.at(-1)
    assert.equal(last.message?.type, 'template', JSON.stringify(last))
    await rig.screenshot('45-conversation-window-closed-template')

    // Without the template the API's sentence says why and what to do.
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { out_of_window_template: null })
    await page.getByLabel('Write to Sandbox User (+15550200001) as the business').fill('and now?')
    await main.getByRole('button', { name: 'Send', exact: true }).click()
    const refusal = main.locator('.business-composer .alert.error, .thread .msg.out.failed', { hasText: /template/ })
    await refusal.first().waitFor()
    assert.match(await refusal.first().innerText(), /out_of_window_template|approved template/)
    await rig.screenshot('46-conversation-outside-window-refused')
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { out_of_window_template: { name: 'new_bot_message', language: 'en', param: 'bot_message' } })
  })

  await t.test('an opt-out keyword shows as opted out on the conversation', async () => {
    await navTo(page, 'Sandbox chat')
    await say(page, 'parar')
    await main.locator('.thread .msg.out', { hasText: 'You will get no more messages' }).waitFor()
    await main.getByText('Your conversation:').locator('.opted-out').waitFor()
    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    await main.locator('[data-window-slot] .opted-out', { hasText: 'Opted out' }).waitFor()
    await rig.screenshot('47-conversation-opted-out')
    await navTo(page, 'Sandbox chat')
    await say(page, 'START')
  })

  /** The sandbox user's conversation id. */
  async function conversationId(): Promise<string> {
    const list = await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)
    return list.data.find((c: any) => c.participant.phone === '+15550200001').id
  }

  await t.test('a broadcast from a pasted CSV previews its rows and skips, then runs to finished with its counts', async () => {
    await navTo(page, 'Broadcasts')
    await main.getByText('No broadcasts on this channel yet.').waitFor()
    await main.getByLabel('Name', { exact: true }).fill('Monday reminders')
    await main.getByLabel('Template', { exact: true }).selectOption('appointment_reminder|en')
    await main.getByLabel('{{2}}').fill('Monday at 09:00')
    const csv = ['to,1', '+1 555 020 0101,Ana', '+15550200102,Ben', '12345,Carl', '+1 (555) 020-0101,Ana again', '+15550200103,'].join('\n')
    await main.getByLabel('Paste CSV').fill(csv)
    const preview = main.locator('.preview')
    await preview.getByText('5 recipients: 2 to send, 3 will be skipped.').waitFor()
    const skipped = await preview.locator('.skipped-list li').allInnerTexts()
    assert.deepEqual(skipped, ['Line 4: 12345 — not a phone number', 'Line 5: +1 (555) 020-0101 — same number as line 2', 'Line 6: +15550200103 — no value for {{1}}'])
    const firstRow = await preview.locator('tbody tr').first().innerText()
    assert.match(firstRow, /2\s+\+1 555 020 0101\s+Ana\s+Monday at 09:00/)
    assert.equal(await main.getByRole('button', { name: 'Send to 5 recipients' }).count(), 1)
    await rig.screenshot('48-broadcast-preview')

    await main.getByRole('button', { name: 'Send to 5 recipients' }).click()
    const detail = main.locator('[data-broadcast]')
    await detail.getByRole('heading', { name: /Monday reminders/ }).waitFor()
    await detail.locator('.badge', { hasText: 'Finished' }).waitFor({ timeout: 20_000 })
    const count = async (key: string) => Number((await detail.locator(`[data-count="${key}"]`).innerText()).replace(/\D/g, ''))
    await page.waitForFunction(() => document.querySelector('[data-count="read"]')?.textContent === '2', undefined, { timeout: 10_000 })
    assert.equal(await count('total'), 5)
    assert.equal(await count('skipped'), 3)
    assert.equal(await count('queued'), 0)
    assert.equal(await count('failed'), 0)
    assert.equal(await detail.getByRole('progressbar').getAttribute('aria-valuenow'), '5')
    await detail.getByText('Skipped recipients (3)').click()
    await detail.locator('[data-recipients="skipped"] li').nth(2).waitFor()
    const reasons = await detail.locator('[data-recipients="skipped"] li').allInnerTexts()
    assert.deepEqual(reasons.sort(), ['+1 (555) 020-0101: already in the list', '+15550200103: parameters missing or not fitting the template', '12345: not a valid WhatsApp number'])
    await main.locator('.past li', { hasText: 'Monday reminders' }).getByText('Finished').waitFor()
    await rig.screenshot('49-broadcast-finished')

    // What the stand-in received: the template with each recipient's params over the broadcast's.
    const sends = await admin('GET', `/api/broadcasts/${await detail.getAttribute('data-broadcast')}/recipients?status=read`)
    assert.equal(sends.data.length, 2)
  })

  await t.test('a slow broadcast uploaded as a file shows its progress and cancels', async () => {
    // One send a second, each answered slowly: the broadcast is still running when Cancel is pressed.
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { throughput_mps: 1 })
    sandbox.standIn.setSendDelay(300)
    t.after(() => sandbox.standIn.setSendDelay(0))
    await navTo(page, 'Broadcasts')
    await main.getByLabel('Name', { exact: true }).fill('Order news')
    await main.getByLabel('Template', { exact: true }).selectOption('order_update|en')
    await main.getByLabel('delivery_date').fill('Friday')
    const rows = Array.from({ length: 20 }, (_, i) => `+1555030${String(i).padStart(4, '0')},Person ${i},A-${1000 + i}`)
    await main.getByLabel('Or upload a CSV file').setInputFiles({ name: 'orders.csv', mimeType: 'text/csv', buffer: Buffer.from(['to,first_name,order_id', ...rows].join('\r\n')) })
    await main.locator('.preview').getByText('20 recipients: 20 to send.').waitFor()
    await main.getByRole('button', { name: 'Send to 20 recipients' }).click()
    const detail = main.locator('[data-broadcast]')
    await detail.locator('.badge', { hasText: 'Sending' }).waitFor()
    await page.waitForFunction(() => Number(document.querySelector('[data-count="read"]')?.textContent ?? '0') + Number(document.querySelector('[data-count="delivered"]')?.textContent ?? '0') >= 1)
    await rig.screenshot('50-broadcast-running')
    await detail.getByRole('button', { name: 'Cancel the rest' }).click()
    await detail.locator('.badge', { hasText: 'Cancelled' }).waitFor()
    await detail.locator('.alert.warn', { hasText: 'Cancelled' }).waitFor()
    const counts = (await admin('GET', `/api/broadcasts/${await detail.getAttribute('data-broadcast')}`)).counts
    assert.ok(counts.cancelled > 0 && counts.cancelled < 20, JSON.stringify(counts))
    assert.equal(counts.total, 20)
    assert.equal(Number(await detail.locator('[data-count="cancelled"]').innerText()), counts.cancelled)
    await rig.screenshot('51-broadcast-cancelled')
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { throughput_mps: null })
  })

  await t.test('phone-sized screen: Broadcasts reads at 390×844', async () => {
    const phone = await rig.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    t.after(() => phone.close())
    const small = await phone.newPage()
    await small.goto(sandbox.consoleUrl)
    await small.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()
    await small.goto(`${sandbox.gatewayUrl}/console/broadcasts`)
    await small.locator('.past li', { hasText: 'Monday reminders' }).click()
    await small.locator('[data-broadcast] .progress').waitFor()
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`)
    await rig.screenshot('52-broadcast-phone', small)
  })
})
