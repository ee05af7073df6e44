/**
 * The sandbox phone beyond text, in a real browser: pick a photo and send it (the stand-in for Meta keeps
 * the bytes and posts a signed image webhook; the gateway downloads them as from Meta; the demo bot
 * reacts 👍), tap a reply button and a list row of the bot's message, share a pin and a document, and see
 * the bot's own photo as the stand-in received it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { demoPng } from '../../src/sandbox/demo-bot.js'
import { chromiumOrSkip, PDF, startRig } from './browser-kit.js'

/** Sends `text` from the composer (Enter sends) and waits until the field is emptied. */
async function say(page: Page, text: string): Promise<void> {
  const input = page.getByLabel(/^Message from/)
  await input.fill(text)
  await input.press('Enter')
  await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.value === '' && document.activeElement?.getAttribute('name') === 'text')
}

/** The thread's bubbles of one direction holding `text`. */
function bubble(page: Page, direction: 'in' | 'out', text: string | RegExp) {
  return page.locator(`#main .thread .msg.${direction}`, { hasText: text })
}

/** The natural width of the first loaded <img> in the bubbles matching `selector`. */
async function loadedWidth(page: Page, selector: string): Promise<number> {
  const handle = await page.waitForFunction((s) => {
    const img = Array.from(document.querySelectorAll(s)).map((m) => m.querySelector('img')).find((i) => i && i.complete && i.naturalWidth > 0)
    return img ? img.naturalWidth : false
  }, selector)
  return (await handle.jsonValue()) as number
}

test('sandbox phone: a photo the demo bot reacts to, a tapped button and list row, a pin, a document', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  await page.goto(sandbox.consoleUrl)
  await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()

  await t.test('a picked photo goes out as an image webhook; the demo bot puts a 👍 on it and says what it got', async () => {
    await page.getByLabel('Photo or document').setInputFiles({ name: 'sign.png', mimeType: 'image/png', buffer: demoPng() })
    await page.getByLabel('Caption (optional)').fill('Our new sign')
    await page.getByRole('button', { name: 'Send file' }).click()
    const photo = bubble(page, 'in', 'Our new sign')
    await photo.locator('img').waitFor()
    // The picture the page shows is the gateway's copy, downloaded from the stand-in as from Meta.
    assert.equal(await loadedWidth(page, '#main .thread .msg.in.type-image'), 192)
    await photo.locator('.reactions .reaction[data-from="out"]', { hasText: '👍' }).waitFor()
    await bubble(page, 'out', /Nice photo! I got it \(image\/png, [\d.]+ (B|kB)\)\./).waitFor()
    assert.equal(await page.getByLabel('Caption (optional)').inputValue(), '', 'the form is cleared after sending')
    await rig.screenshot('22-sandbox-photo')
  })

  await t.test('tapping a reply button of the bot’s message answers with that option', async () => {
    await say(page, 'buttons')
    const buttons = bubble(page, 'out', 'Do you like what you see so far?')
    const yes = buttons.getByRole('button', { name: 'Yes' })
    await page.waitForFunction(() => {
      const button = document.querySelector<HTMLButtonElement>('#main .thread .msg.out.type-buttons [data-choice-id="yes"]')
      return button !== null && !button.disabled
    })
    await yes.click()
    const choice = bubble(page, 'in', 'chose: Yes')
    await choice.waitFor()
    assert.match(await choice.locator('.quote').innerText(), /Do you like what you see so far\?/)
    await bubble(page, 'out', 'You chose “Yes” (id yes).').waitFor()
  })

  await t.test('tapping a list row answers with that row; the bot sends its photo, shown as Meta received it', async () => {
    await say(page, 'list')
    const list = bubble(page, 'out', 'Which message would you like to see next?')
    await list.waitFor()
    await page.waitForFunction(() => {
      const row = document.querySelector<HTMLButtonElement>('#main .thread .msg.out.type-list [data-choice-id="photo"]')
      return row !== null && !row.disabled
    })
    // Only the bot's latest buttons or list can be tapped.
    assert.equal(await bubble(page, 'out', 'Do you like what you see so far?').getByRole('button', { name: 'Yes' }).isDisabled(), true)
    await list.getByRole('button', { name: /A photo/ }).click()
    await bubble(page, 'in', 'chose: A photo').waitFor()
    const botPhoto = bubble(page, 'out', 'A picture from the demo bot.')
    await botPhoto.locator('img').waitFor()
    assert.equal(await loadedWidth(page, '#main .thread .msg.out.type-image'), 192)
    assert.match((await botPhoto.locator('img').getAttribute('src')) ?? '', /^blob:/)
  })

  await t.test('“Send my pin” shares a location; typed coordinates work too', async () => {
    await page.getByRole('button', { name: 'Send my pin' }).click()
    const pin = bubble(page, 'in', 'Amsterdam Centraal')
    await pin.waitFor()
    assert.equal(await pin.getByRole('link', { name: 'Open in OpenStreetMap' }).getAttribute('href'), 'https://www.openstreetmap.org/?mlat=52.37887&mlon=4.90054#map=16/52.37887/4.90054')
    await bubble(page, 'out', 'Your pin: Amsterdam Centraal at 52.37887, 4.90054.').waitFor()

    // A typed latitude out of range is refused on the page, next to its field.
    await page.getByLabel('Latitude').fill('123')
    await page.getByLabel('Longitude').fill('4.9')
    await page.getByRole('button', { name: 'Send location' }).click()
    await page.locator('[data-field="latitude"] .field-error', { hasText: 'from -90 to 90' }).waitFor()
    await page.getByLabel('Latitude').fill('-33.85678')
    await page.getByLabel('Longitude').fill('151.21530')
    await page.getByLabel('Place name (optional)').fill('Sydney Opera House')
    await page.getByRole('button', { name: 'Send location' }).click()
    await bubble(page, 'out', 'Your pin: Sydney Opera House at -33.85678, 151.21530.').waitFor()
  })

  await t.test('a picked PDF goes as a document with its file name', async () => {
    await page.getByLabel('Photo or document').setInputFiles({ name: 'menu.pdf', mimeType: 'application/pdf', buffer: PDF })
    await page.getByRole('button', { name: 'Send file' }).click()
    const link = page.locator('#main .thread .msg.in.type-document').getByRole('link', { name: /menu\.pdf/ })
    await link.waitFor()
    assert.equal(await link.getAttribute('download'), 'menu.pdf')
    await bubble(page, 'out', `Thanks for “menu.pdf” (${PDF.length} B).`).waitFor()
    await page.locator('#main .thread').evaluate((list: HTMLElement) => (list.style.maxHeight = 'none'))
    await rig.screenshot('23-sandbox-rich')
  })
})
