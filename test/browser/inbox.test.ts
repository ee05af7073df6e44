/**
 * Conversations as an inbox, in a real browser against the sandbox: a person of the team takes a
 * conversation over (the bot, a real http bot on 127.0.0.1 that counts its calls, then gets no more of
 * the user's messages), answers as an agent with a text and a photo (what the stand-in for Meta received
 * is checked, and the thread labels and colours them as the agent's, apart from the bot's), finds the
 * conversation under "Waiting for a person" (newest activity first), and gives it back to the bot, which
 * answers again. The channel's handover timeout, set on the Channels page, shows as when the conversation
 * goes back to the bot, and moves with each agent message. Once the 24-hour window closes the composer
 * says why and offers an approved template; an opt-out refusal shows on the form; on a 390×844 phone the
 * composer sits above the fold.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { demoPng } from '../../src/sandbox/demo-bot.js'
import { SANDBOX_NUMBERS, SANDBOX_USER } from '../../src/sandbox/sandbox.js'
import { adminApi, chromiumOrSkip, navTo, SCREENSHOTS, startRig } from './browser-kit.js'

/** A real http bot that answers each text with "Bot heard: …" and keeps what it was asked. */
async function startCountingBot(): Promise<{ url: string; heard: string[]; close(): Promise<void> }> {
  const heard: string[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: { text?: string | null } }
      const text = body.message?.text ?? ''
      heard.push(text)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ replies: [{ type: 'text', text: `Bot heard: ${text}` }] }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bot`,
    heard,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The thread's outbound bubbles by `author` holding `text`. */
function outBubble(page: Page, author: string, text: string | RegExp) {
  return page.locator(`#main .thread .msg.out[data-author="${author}"]`, { hasText: text })
}

test('the inbox: take over, answer as an agent, the waiting list, give back, templates when the window closed', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const bot = await startCountingBot()
  t.after(() => bot.close())
  const { page, sandbox } = rig
  const main = page.locator('#main')
  const number = SANDBOX_NUMBERS[0]!
  const admin = adminApi(sandbox)
  const userSays = async (text: string, from: { phone: string; name: string } = SANDBOX_USER) => {
    const answer = await sandbox.standIn.userSays({ number, from: from.phone, name: from.name, text })
    assert.equal(answer.statusCode, 200, answer.text)
  }
  /** The messages of `phone`'s conversation once `done` holds for them (the pipeline runs on its own). */
  const messagesWhen = async (phone: string, done: (messages: any[]) => boolean, what: string): Promise<any[]> => {
    const deadline = performance.now() + 15_000
    for (;;) {
      const conversation = (await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)).data.find((c: any) => c.participant.phone === phone)
      const messages = conversation ? (await admin('GET', `/api/conversations/${conversation.id}/messages?limit=200`)).data : []
      if (done(messages)) return messages
      if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(messages.map((m: any) => [m.direction, m.author, m.status, m.text]))}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const conversationOf = async (phone: string) => (await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)).data.find((c: any) => c.participant.phone === phone)
  const composerLabel = `Write to ${SANDBOX_USER.name} (${SANDBOX_USER.phone}) as the business`

  // The sandbox channel answers with the counting bot.
  const counting = await admin('POST', '/api/bots', { name: 'Counting bot', type: 'http', config: { url: bot.url, secret: 'counting-bot-secret-0123456789' } })
  await admin('PATCH', `/api/channels/${sandbox.channelId}`, { bot_id: counting.id })
  await page.goto(sandbox.consoleUrl)
  await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()

  await t.test('a conversation the bot answers shows its replies labelled as the bot’s, and “Take over”', async () => {
    await userSays('hello')
    await messagesWhen(SANDBOX_USER.phone, (all) => all.some((m) => m.author === 'bot' && m.text === 'Bot heard: hello' && m.status === 'read'), 'the bot’s answer')
    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    await page.getByRole('heading', { level: 2, name: /Sandbox User/ }).waitFor()
    const reply = outBubble(page, 'bot', 'Bot heard: hello')
    await reply.waitFor()
    assert.equal(await reply.locator('.who .author').innerText(), 'Bot')
    assert.match(await main.locator('[data-handover-bar]').innerText(), /Bot answers/)
    await main.getByRole('button', { name: 'Take over' }).waitFor()
  })

  await t.test('taken over: the user’s next message is left for a person, not sent to the bot', async () => {
    // The channel gives a conversation back to the bot 30 minutes after the last agent message: set on
    // the Channels page.
    await navTo(page, 'Channels')
    const card = main.locator('[data-channel]', { hasText: '+15550100001' })
    await card.getByText('Messaging settings: closed window, opt-out, handover').click()
    await card.getByLabel('Give it back to the bot after (minutes)').fill('30')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await card.locator('.alert.ok', { hasText: 'Settings of Sandbox saved.' }).waitFor()
    assert.equal((await admin('GET', `/api/channels/${sandbox.channelId}`)).handover_timeout_minutes, 30)
    assert.match(await card.locator('.settings-summary').innerText(), /taken over: back to the bot after 30 min/)
    await page.goBack()
    await page.getByRole('heading', { level: 2, name: /Sandbox User/ }).waitFor()

    await main.getByRole('button', { name: 'Take over' }).click()
    const bar = main.locator('[data-handover-bar]')
    await bar.locator('[data-handover-state="human"]').waitFor()
    assert.match(await bar.innerText(), /A person answers since .* · back to the bot at .* unless an agent writes/)
    await main.getByRole('button', { name: 'Give back to bot' }).waitFor()
    const conversation = await conversationOf(SANDBOX_USER.phone)
    assert.equal(conversation.handled_by, 'human')
    assert.equal(await bar.locator('.handover-expiry time').getAttribute('datetime'), conversation.handover_expires_at)

    const callsBefore = bot.heard.length
    await userSays('I would like to talk to a person')
    const messages = await messagesWhen(
      SANDBOX_USER.phone,
      (all) => all.some((m) => m.direction === 'in' && m.text === 'I would like to talk to a person' && m.status === 'processed'),
      'the message stored as processed',
    )
    // Stored and done with, and the bot never asked: no call, no reply after it.
    assert.deepEqual(bot.heard.slice(callsBefore), [])
    assert.equal(messages.at(-1).text, 'I would like to talk to a person')
    const left = main.locator('.thread .msg.in', { hasText: 'I would like to talk to a person' })
    await left.getByText('Left for a person').waitFor()
    assert.equal(await main.locator('.thread .msg.out', { hasText: 'Bot heard: I would like' }).count(), 0)
  })

  await t.test('an agent’s text goes to WhatsApp and shows as the agent’s, in its own colour', async () => {
    const before = await conversationOf(SANDBOX_USER.phone)
    await page.getByLabel(composerLabel).fill('Hi, this is Ana from support. How can I help?')
    await main.getByRole('button', { name: 'Send', exact: true }).click()
    const mine = outBubble(page, 'agent', 'this is Ana from support')
    await mine.and(page.locator('[data-status="read"]')).waitFor()
    assert.equal(await mine.locator('.who .author').innerText(), 'Agent')
    const agentColour = await mine.evaluate((bubble) => getComputedStyle(bubble).backgroundColor)
    const botColour = await outBubble(page, 'bot', 'Bot heard: hello').evaluate((bubble) => getComputedStyle(bubble).backgroundColor)
    assert.notEqual(agentColour, botColour, 'the agent’s bubble looks different from the bot’s')

    // What the stand-in for Meta received, by the message's wamid.
    const messages = await messagesWhen(SANDBOX_USER.phone, (all) => all.some((m) => m.author === 'agent' && m.provider_message_id), 'the agent’s message sent')
    const agent = messages.find((m) => m.author === 'agent')
    const received = sandbox.standIn.sent(agent.provider_message_id)
    assert.equal(received?.to, SANDBOX_USER.phone.replace(/\D/g, ''))
    assert.equal((received?.message as any).text.body, 'Hi, this is Ana from support. How can I help?')
    assert.deepEqual(bot.heard.filter((text) => text.includes('Ana')), [], 'the bot is not told the agent’s words')
    // The agent's message pushed the hand-back time forward; the page follows within its 5 s poll.
    const expires = (await conversationOf(SANDBOX_USER.phone)).handover_expires_at
    assert.ok(expires > before.handover_expires_at, `${expires} is not after ${before.handover_expires_at}`)
    await main.locator(`[data-handover-bar] .handover-expiry time[datetime="${expires}"]`).waitFor({ timeout: 8000 })
    await rig.screenshot('60-inbox-agent-answers')
  })

  await t.test('“Waiting for a person” lists the conversations a person answers, newest activity first, with a badge', async () => {
    // A second person, also handed over, who wrote after the first.
    const second = { phone: '+15550200002', name: 'Second Person' }
    await userSays('hi there', second)
    await messagesWhen(second.phone, (all) => all.some((m) => m.author === 'bot'), 'the bot’s answer to the second person')
    await admin('POST', `/api/conversations/${(await conversationOf(second.phone)).id}/handover`, { to: 'human' })
    await userSays('anyone?', second)
    await messagesWhen(second.phone, (all) => all.some((m) => m.text === 'anyone?' && m.status === 'processed'), 'the second person’s message')

    await main.getByRole('navigation', { name: 'Which conversations' }).getByRole('link', { name: /Waiting for a person/ }).click()
    await page.waitForURL(/view=waiting/)
    const rows = main.locator('.conv-list li[data-conversation]')
    await rows.nth(1).waitFor()
    assert.equal(await rows.count(), 2)
    const names = await rows.locator('.conv-name').allInnerTexts()
    assert.deepEqual(names, ['Second Person (+15550200002)', 'Sandbox User (+15550200001)'])
    for (const row of await rows.all()) assert.equal(await row.locator('.badge.human').innerText(), 'With a person')
    assert.match(await main.getByRole('link', { name: /Waiting for a person/ }).innerText(), /2/)
    assert.match(await rows.first().innerText(), /Sandbox \(\+15550100001\)/, 'the channel is named')
    await rig.screenshot('61-inbox-waiting')

    // The first person writes again: their conversation moves to the top.
    await userSays('still there?')
    await messagesWhen(SANDBOX_USER.phone, (all) => all.some((m) => m.text === 'still there?' && m.status === 'processed'), 'the new message')
    const deadline = performance.now() + 5000
    for (;;) {
      const waiting = (await admin('GET', '/api/conversations?handled_by=human')).data.map((c: any) => c.participant.phone)
      if (waiting[0] === SANDBOX_USER.phone) break
      if (performance.now() > deadline) assert.fail(`GET /api/conversations?handled_by=human does not list the newest activity first: ${JSON.stringify(waiting)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // The page reads the list again every 5 s.
    await page.waitForFunction(() => document.querySelector('.conv-list li[data-conversation] .conv-name')?.textContent?.startsWith('Sandbox User'), undefined, { timeout: 10_000 })
  })

  await t.test('an agent sends a photo: stored with POST /api/media, sent by media id, shown as the agent’s', async () => {
    await main.locator('.conv-list').getByRole('link', { name: /Sandbox User/ }).click()
    await page.getByRole('heading', { level: 2, name: /Sandbox User/ }).waitFor()
    await main.getByText('Send a file').click()
    const png = demoPng()
    await main.getByLabel('File', { exact: true }).setInputFiles({ name: 'opening-hours.png', mimeType: 'image/png', buffer: png })
    await main.getByLabel('Caption (optional)').fill('Our opening hours')
    await main.getByRole('button', { name: 'Send file' }).click()
    const photo = page.locator('#main .thread .msg.out.type-image[data-author="agent"]', { hasText: 'Our opening hours' })
    await photo.and(page.locator('[data-status="read"]')).waitFor()
    await page.waitForFunction(() => {
      const img = document.querySelector('#main .thread .msg.out.type-image[data-author="agent"] img') as HTMLImageElement | null
      return img !== null && img.complete && img.naturalWidth > 0
    })
    const messages = await messagesWhen(SANDBOX_USER.phone, (all) => all.some((m) => m.author === 'agent' && m.type === 'image' && m.provider_message_id), 'the photo sent')
    const sent = messages.find((m) => m.author === 'agent' && m.type === 'image')
    assert.match(sent.message.media_id, /^med_/)
    const received = sandbox.standIn.sent(sent.provider_message_id)
    assert.equal((received?.message as any).type, 'image')
    assert.equal((received?.message as any).image.caption, 'Our opening hours')
    assert.ok(received?.media?.bytes.equals(png), 'Meta got the picture’s bytes')
    await rig.screenshot('62-inbox-agent-photo')
  })

  await t.test('given back, the bot answers again, and the conversation leaves the waiting list', async () => {
    await main.getByRole('button', { name: 'Give back to bot' }).click()
    await main.locator('[data-handover-bar] [data-handover-state="bot"]').waitFor()
    await main.getByRole('button', { name: 'Take over' }).waitFor()
    assert.equal((await conversationOf(SANDBOX_USER.phone)).handled_by, 'bot')
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.conv-list .conv-name')).map((n) => n.textContent).join() === 'Second Person (+15550200002)')

    await userSays('back to the bot')
    const reply = outBubble(page, 'bot', 'Bot heard: back to the bot')
    await reply.waitFor({ timeout: 15_000 })
    assert.ok(bot.heard.includes('back to the bot'))
    await main.locator('.thread .msg.in', { hasText: 'back to the bot' }).getByText('Handled by the bot').waitFor()
  })

  await t.test('phone-sized screen: the composer sits above the fold at 390×844', async () => {
    const conversation = await conversationOf(SANDBOX_USER.phone)
    const phone = await rig.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    t.after(() => phone.close())
    const small = await phone.newPage()
    await small.goto(sandbox.consoleUrl)
    await small.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()
    await small.goto(`${sandbox.gatewayUrl}/console/conversations?channel=${sandbox.channelId}&conversation=${conversation.id}`)
    await small.locator('#main .thread .msg').first().waitFor()
    const input = small.getByLabel(composerLabel)
    const send = small.locator('#main').getByRole('button', { name: 'Send', exact: true })
    await small.screenshot({ path: new URL('63-inbox-phone.png', SCREENSHOTS).pathname })
    assert.equal(await small.evaluate(() => window.scrollY), 0)
    for (const [what, element] of [['the text box', input], ['the Send button', send], ['Take over', small.getByRole('button', { name: 'Take over' })]] as const) {
      const box = await element.boundingBox()
      assert.ok(box && box.y >= 0 && box.y + box.height <= 844, `${what} is not above the fold: ${JSON.stringify(box)}`)
    }
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`)
    // The list is one tap away.
    await small.getByRole('link', { name: '← All conversations' }).click()
    await small.locator('.conv-list').getByRole('link', { name: /Sandbox User/ }).waitFor()
  })

  await t.test('the window closed: the composer says why and offers an approved template, which goes out', async () => {
    await navTo(page, 'Sandbox chat')
    await main.getByRole('button', { name: 'Advance the clock 24 hours' }).click()
    await main.locator('.alert.warn', { hasText: 'your 24-hour window has closed' }).waitFor()
    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    const notice = main.locator('[data-window-notice="closed"]')
    await notice.waitFor()
    assert.match(await notice.innerText(), /The 24-hour window closed .*: WhatsApp delivers only approved templates until they write again\. A text goes out as the template new_bot_message/)
    const form = main.locator('[data-composer="template"]')
    assert.equal(await form.evaluate((details: HTMLDetailsElement) => details.open), true, 'the template form is open')
    assert.equal(await main.locator('[data-composer="file"]').count(), 0, 'no file is offered: it could not be delivered')
    await form.getByLabel('Template', { exact: true }).selectOption('appointment_reminder|en')
    // A missing parameter is named before anything is sent.
    await form.getByLabel('{{1}}').fill('Ada')
    await form.getByRole('button', { name: 'Send template' }).click()
    await form.locator('.field-error', { hasText: 'Fill {{2}}' }).waitFor()
    await form.getByLabel('{{2}}').fill('Monday at 09:00')
    assert.match(await form.locator('.template-preview').innerText(), /Hi Ada, this is a reminder.*Monday at 09:00/s)
    await rig.screenshot('64-inbox-window-closed-template')
    await form.getByRole('button', { name: 'Send template' }).click()
    const template = page.locator('#main .thread .msg.out.type-template[data-author="agent"]', { hasText: 'appointment_reminder' })
    await template.and(page.locator('[data-status="read"]')).waitFor()
    const messages = await messagesWhen(SANDBOX_USER.phone, (all) => all.some((m) => m.author === 'agent' && m.type === 'template' && m.provider_message_id), 'the template sent')
    const received = sandbox.standIn.sent(messages.find((m) => m.author === 'agent' && m.type === 'template').provider_message_id)
    const sentTemplate = (received?.message as any).template
    assert.equal(sentTemplate.name, 'appointment_reminder')
    assert.deepEqual(
      sentTemplate.components.find((c: any) => c.type === 'body').parameters.map((p: any) => p.text),
      ['Ada', 'Monday at 09:00'],
    )
  })

  await t.test('a refusal of the API (an opt-out: 409) shows on the composer in its own words', async () => {
    await userSays('STOP')
    await messagesWhen(SANDBOX_USER.phone, (all) => all.some((m) => m.text === 'STOP' && m.status === 'processed'), 'the opt-out')
    await page.reload()
    await main.locator('[data-window-slot] .opted-out').waitFor()
    await page.getByLabel(composerLabel).fill('one more thing')
    await main.getByRole('button', { name: 'Send', exact: true }).click()
    const refusal = main.locator('.business-composer .alert.error')
    await refusal.waitFor()
    assert.match(await refusal.innerText(), /opted out/)
    await rig.screenshot('65-inbox-refused')
  })
})
