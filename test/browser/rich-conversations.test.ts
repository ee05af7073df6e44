/**
 * Conversations shows messages of every kind as WhatsApp does. A WhatsApp user (the sandbox's stand-in
 * for Meta, posting signed webhooks) sends a photo, a voice note, a document, a pin, a contact, a tap on
 * the demo bot's buttons and a reaction; the demo bot (a real http bot) answers with buttons, a list, a
 * photo by media id, a pin, a link button and a 👍 on the photo. Everything goes through the gateway as
 * in production: media are downloaded from the stand-in, stored, and shown through signed /media URLs.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { demoPng } from '../../src/sandbox/demo-bot.js'
import { SANDBOX_NUMBERS, SANDBOX_USER } from '../../src/sandbox/sandbox.js'
import { sha256Base64 } from '../../src/sandbox/stand-in-media.js'
import { adminApi, chromiumOrSkip, navTo, PDF, signIn, startRig, toneWav } from './browser-kit.js'

/** The thread's bubbles of one direction holding `text`. */
function bubble(page: Page, direction: 'in' | 'out', text: string | RegExp) {
  return page.locator(`#main .thread .msg.${direction}`, { hasText: text })
}

/** Waits until an <img> matching `selector` under `scope` has loaded real pixels. */
async function imageLoaded(page: Page, scope: string, selector: string): Promise<number> {
  const handle = await page.waitForFunction(
    ([s, i]) => {
      const img = Array.from(document.querySelectorAll(s)).map((m) => m.querySelector(i)).find(Boolean) as HTMLImageElement | undefined
      return img && img.complete && img.naturalWidth > 0 ? img.naturalWidth : false
    },
    [scope, selector] as const,
  )
  return (await handle.jsonValue()) as number
}

test('conversations: photos, voice notes, documents, pins, choices, reactions and the bot’s buttons and lists', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  const number = SANDBOX_NUMBERS[0]!
  const user = { number, from: SANDBOX_USER.phone, name: SANDBOX_USER.name }
  const admin = adminApi(sandbox)
  /** Posts one message as the user; resolves with its wamid. */
  const send = async (message: Record<string, unknown>) => {
    const answer = await sandbox.standIn.userSends({ ...user, message })
    assert.equal(answer.statusCode, 200, answer.text)
    return answer.wamid
  }
  /** The conversation's messages, once `done` holds for them (polled: the pipeline runs on its own). */
  const messagesWhen = async (done: (messages: any[]) => boolean, what: string): Promise<any[]> => {
    const deadline = performance.now() + 15_000
    for (;;) {
      const conversations = (await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)).data
      const messages = conversations.length === 0 ? [] : (await admin('GET', `/api/conversations/${conversations[0].id}/messages?limit=200`)).data
      if (done(messages)) return messages
      if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(messages.map((m: any) => [m.direction, m.type, m.status, m.text]))}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const readOut = (type: string) => (messages: any[]) => messages.some((m) => m.direction === 'out' && m.type === type && m.status === 'read')

  await t.test('a user’s messages of every kind reach the demo bot, which answers each', async () => {
    await send({ type: 'text', text: { body: 'buttons' } })
    const afterButtons = await messagesWhen(readOut('buttons'), 'the bot’s buttons')
    const buttons = afterButtons.find((m) => m.type === 'buttons')
    await send({ context: { from: '15550100001', id: buttons.provider_message_id }, type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } } })
    await send({ type: 'reaction', reaction: { message_id: buttons.provider_message_id, emoji: '❤️' } })
    for (const word of ['list', 'photo', 'location', 'link']) await send({ type: 'text', text: { body: word } })

    const png = demoPng()
    const photo = sandbox.standIn.addMedia({ number, mimeType: 'image/png', bytes: png })
    await send({ type: 'image', image: { caption: 'Our new sign', mime_type: 'image/png', sha256: sha256Base64(png), id: photo.id } })
    const wav = toneWav()
    const voice = sandbox.standIn.addMedia({ number, mimeType: 'audio/ogg; codecs=opus', bytes: wav })
    await send({ type: 'audio', audio: { mime_type: 'audio/ogg; codecs=opus', sha256: sha256Base64(wav), id: voice.id, voice: true } })
    const pdf = sandbox.standIn.addMedia({ number, mimeType: 'application/pdf', filename: 'menu.pdf', bytes: PDF })
    await send({ type: 'document', document: { filename: 'menu.pdf', mime_type: 'application/pdf', sha256: sha256Base64(PDF), id: pdf.id } })
    // A media id the stand-in never had: Meta answers "does not exist", so the download fails.
    await send({ type: 'image', image: { mime_type: 'image/jpeg', sha256: sha256Base64(Buffer.from('gone')), id: '999000111222333' } })
    await send({ type: 'location', location: { latitude: 51.50135, longitude: -0.14189, name: 'Buckingham Palace', address: 'London SW1A 1AA' } })
    await send({ type: 'contacts', contacts: [{ name: { formatted_name: 'Ada Lovelace', first_name: 'Ada' }, phones: [{ phone: '+44 20 7946 0000', type: 'WORK', wa_id: '442079460000' }] }] })

    const messages = await messagesWhen(
      (all) =>
        ['list', 'image', 'location', 'cta_url', 'reaction'].every((type) => readOut(type)(all)) &&
        all.filter((m) => m.direction === 'in').length === 13 &&
        all.filter((m) => m.direction === 'in').every((m) => m.status === 'processed') &&
        all.filter((m) => m.direction === 'out').length >= 12 &&
        all.filter((m) => m.direction === 'out').every((m) => m.status === 'read'),
      'every message handled and every answer read',
    )
    const inbound = messages.filter((m) => m.direction === 'in')
    assert.equal(inbound.find((m) => m.type === 'image' && m.text === 'Our new sign')?.media?.status, 'stored')
    assert.equal(inbound.find((m) => m.type === 'reply')?.reply?.title, 'Yes')
  })

  await t.test('Conversations draws each as WhatsApp shows it', async () => {
    await signIn(page, sandbox)
    await navTo(page, 'Conversations')
    await page.getByRole('link', { name: /Sandbox User/ }).click()
    await page.getByRole('heading', { level: 2, name: /Sandbox User/ }).waitFor()

    // The user's photo: a real picture from the gateway's signed URL, with its caption.
    const photo = bubble(page, 'in', 'Our new sign')
    await photo.locator('img').waitFor()
    assert.equal(await imageLoaded(page, '#main .thread .msg.in.type-image', 'img'), 192)
    assert.match((await photo.locator('img').getAttribute('src')) ?? '', /\/media\/med_[^?]+\?expires=\d+&signature=/)
    // The bot's 👍 sits on that photo's bubble, and the user's ❤️ on the bot's buttons.
    assert.equal(await photo.locator('.reactions .reaction[data-from="out"]').innerText(), '👍')
    const buttons = bubble(page, 'out', 'Do you like what you see so far?')
    assert.equal(await buttons.locator('.reactions .reaction[data-from="in"]').innerText(), '❤️')
    assert.equal(await page.locator('#main .thread .msg.type-reaction').count(), 0, 'reactions placed on their message keep no line of their own')

    // The bot's buttons as buttons, under their text, with header and footer; the user's choice.
    for (const title of ['Yes', 'No', 'Ask me later']) await buttons.getByRole('button', { name: title }).waitFor()
    assert.equal(await buttons.locator('.msg-header').innerText(), 'Quick question')
    const choice = bubble(page, 'in', 'chose: Yes')
    await choice.waitFor()
    assert.match(await choice.locator('.quote').innerText(), /Do you like what you see so far\?/)
    await bubble(page, 'out', 'You chose “Yes” (id yes).').waitFor()

    // A list: its button label, then its rows with their descriptions, under section titles.
    const list = bubble(page, 'out', 'Which message would you like to see next?')
    assert.match(await list.locator('.list-open').innerText(), /See the menu/)
    await list.getByRole('button', { name: /A photo\s*A picture sent by media id/ }).waitFor()
    assert.deepEqual(await list.locator('.list-section').allInnerTexts(), ['MEDIA', 'INTERACTIVE'])

    // The bot's photo, sent by media id: read from the gateway's copy with the token.
    const botPhoto = bubble(page, 'out', 'A picture from the demo bot.')
    await botPhoto.locator('img').waitFor()
    assert.equal(await imageLoaded(page, '#main .thread .msg.out.type-image', 'img'), 192)

    // A link button, and the bot's pin with its map link.
    const cta = bubble(page, 'out', 'Everything about WhatsApp messages').getByRole('link', { name: /Read the docs/ })
    assert.equal(await cta.getAttribute('href'), 'https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/')
    const botPin = bubble(page, 'out', 'Amsterdam Centraal').getByRole('link', { name: 'Open in OpenStreetMap' })
    assert.equal(await botPin.getAttribute('href'), 'https://www.openstreetmap.org/?mlat=52.37887&mlon=4.90054#map=16/52.37887/4.90054')

    // The voice note: a player, labelled as a voice note.
    const voice = page.locator('#main .thread .msg.in.type-audio')
    await voice.locator('audio').waitFor({ state: 'attached' })
    assert.match(await voice.locator('.media-label').innerText(), /Voice note/)
    assert.match((await voice.locator('audio').getAttribute('src')) ?? '', /\/media\/med_/)

    // The document: a download link named by its file.
    const documentLink = page.locator('#main .thread .msg.in.type-document').getByRole('link', { name: /menu\.pdf/ })
    assert.equal(await documentLink.getAttribute('download'), 'menu.pdf')
    assert.match((await documentLink.getAttribute('href')) ?? '', /\/media\/med_/)

    // Media the gateway could not download says why.
    const failed = page.locator('#main .thread .msg.in.type-image', { hasText: 'could not be fetched' })
    assert.match(await failed.locator('.error').innerText(), /^The image could not be fetched: .{10,}/)

    // The user's pin and contact card.
    const pin = bubble(page, 'in', 'Buckingham Palace')
    assert.match(await pin.innerText(), /London SW1A 1AA/)
    assert.equal(await pin.getByRole('link', { name: 'Open in OpenStreetMap' }).getAttribute('href'), 'https://www.openstreetmap.org/?mlat=51.50135&mlon=-0.14189#map=16/51.50135/-0.14189')
    assert.match(await bubble(page, 'in', 'Ada Lovelace').innerText(), /\+44 20 7946 0000 \(work\)/)

    // The business cannot tap for the user: the buttons are shown, not live.
    assert.equal(await buttons.getByRole('button', { name: 'Yes' }).isDisabled(), true)
    // The whole thread in one picture (it scrolls inside its box on the page).
    await page.locator('#main .thread').evaluate((list: HTMLElement) => (list.style.maxHeight = 'none'))
    await rig.screenshot('20-conversations-rich')
    await page.locator('#main .thread').evaluate((list: HTMLElement) => (list.style.maxHeight = ''))
  })

  await t.test('a template the team sends shows as "Template <name> (<language>)"', async () => {
    const conversations = (await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)).data
    // One of the sandbox's approved templates (the gateway checks a template send against the synced list).
    await admin('POST', `/api/conversations/${conversations[0].id}/messages`, { message: { type: 'template', name: 'appointment_reminder', language: 'en', params: ['Ada', 'Monday at 09:00'] } })
    const template = page.locator('#main .thread .msg.out.type-template')
    await template.waitFor()
    assert.match(await template.locator('.template').innerText(), /^Template appointment_reminder \(en\)$/)
    assert.match(await template.innerText(), /Parameters: Ada · Monday at 09:00/)
  })
})
