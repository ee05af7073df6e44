/**
 * The console's setup pages in a real browser: sign in, create a provider (an inline error first),
 * see a provider's health in words, create a bot, and connect a number with each of the API's inline
 * errors before it succeeds and shows what to paste where. One screenshot per page, plus a phone-sized one.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { signMetaBody } from '../../src/providers/index.js'
import { SANDBOX_BUSINESS_ID, SANDBOX_NUMBERS } from '../../src/sandbox/sandbox.js'
import { chromiumOrSkip, navTo, signIn, startRig } from './browser-kit.js'

test('console: sign in, providers, bots and channels with inline errors', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  // Texts are looked up in the page itself: the screen reader announcer repeats some of them.
  const main = page.locator('#main')
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })

  await t.test('sign in: a wrong token is refused inline, the right one opens the console', async () => {
    await page.goto(`${sandbox.gatewayUrl}/console/`)
    // Keyboard: the first Tab reaches the skip link, and the token field has the focus to begin with.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'token')
    // Keyboard order: skip link, brand, then the page; the skip link shows when focused and jumps to the page.
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.press('Shift+Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content')
    assert.ok(((await page.locator('.skip-link').boundingBox())?.y ?? -1) >= 0, 'the focused skip link is on screen')
    await page.keyboard.press('Enter')
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main')
    await page.getByLabel('API token').fill('not-a-token-of-this-gateway')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await main.getByText('The gateway does not know this token').waitFor()
    assert.equal(await page.getByLabel('API token').getAttribute('aria-invalid'), 'true')
    await rig.screenshot('01-sign-in-error')
    await signIn(page, sandbox)
    // The token is kept for this tab only.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.token')), sandbox.adminToken)
  })

  await t.test('providers: the sandbox provider is healthy; a new one shows its inline error, then is added with masked secrets', async () => {
    await navTo(page, 'Providers')
    const sandboxCard = page.locator('[data-provider]', { hasText: 'Sandbox Meta' })
    await sandboxCard.getByText('Working: no problems seen.').waitFor()

    await page.getByLabel('Name', { exact: true }).fill('Acme Meta')
    await page.getByLabel('WhatsApp Business Account ID').fill('acme-waba')
    await page.getByLabel('Access token').fill('EAAB-acme-expired-token-0001')
    await page.getByLabel('App Secret').fill('acme-app-secret-0123456789')
    await page.getByLabel('Verify token').fill('acme-verify-phrase')
    await page.getByRole('button', { name: 'Add provider' }).click()
    const businessError = page.locator('[data-field="config.business_id"] .field-error')
    await businessError.getByText('digits only').waitFor()
    assert.equal(await page.getByLabel('WhatsApp Business Account ID').getAttribute('aria-invalid'), 'true')
    // The field with the problem has the keyboard focus.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'config.business_id')

    // The credentials are checked before anything is stored: Meta (the stand-in) refuses the expired token.
    await page.getByLabel('WhatsApp Business Account ID').fill(SANDBOX_BUSINESS_ID)
    await page.getByRole('button', { name: 'Add provider' }).click()
    const refused = page.locator('.form-alert .alert.error, [data-field] .field-error:not(:empty)').filter({ hasText: /refused/ })
    await refused.first().waitFor()
    assert.match(await refused.first().innerText(), /190|token/i)
    assert.equal((await page.locator('[data-provider]', { hasText: 'Acme Meta' }).count()), 0, 'a refused provider is not stored')

    // With a token the stand-in accepts (the sandbox's own), it is added.
    const { accessToken } = JSON.parse(readFileSync(join(sandbox.gateway.config.dataDir, 'sandbox-secrets.json'), 'utf8')) as { accessToken: string }
    await page.getByLabel('Access token').fill(accessToken)
    await page.getByRole('button', { name: 'Add provider' }).click()
    await main.getByText('Provider “Acme Meta” added.').waitFor()
    const acme = page.locator('[data-provider]', { hasText: 'Acme Meta' })
    await acme.waitFor()
    // Secrets come back masked and never in full.
    const html = await page.content()
    assert.ok(!html.includes(accessToken), 'the access token appears in full')
    assert.ok(!html.includes('acme-app-secret-0123456789'), 'the app secret appears in full')
    await acme.getByText('Settings').click()
    const masked = /access_token: (\S+…\S+)/.exec(await acme.locator('details').innerText())?.[1]
    assert.ok(masked, 'the access token is shown masked')

    // Edit: secret fields start empty and are left out when empty, so the stored secret stays.
    await acme.getByRole('button', { name: 'Edit' }).click()
    assert.equal(await acme.getByLabel('Access token').inputValue(), '')
    await acme.getByLabel('Name', { exact: true }).fill('Acme Meta (old account)')
    await acme.getByLabel('Name', { exact: true }).press('Enter')
    const renamed = page.locator('[data-provider]', { hasText: 'Acme Meta (old account)' })
    await renamed.waitFor()
    await renamed.getByText('Settings').click()
    assert.match(await renamed.locator('details').innerText(), new RegExp(`access_token: ${masked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  })

  await t.test('health in words: a refused token and forged webhooks say what to do', async () => {
    // The token expires later: an edit stores it unchecked (a PATCH asks nobody)…
    await navTo(page, 'Providers')
    const acme = page.locator('[data-provider]', { hasText: 'Acme Meta (old account)' })
    await acme.getByRole('button', { name: 'Edit' }).click()
    await acme.getByLabel('Access token').fill('EAAB-acme-expired-token-0001')
    await acme.getByLabel('Access token').press('Enter')
    await acme.getByRole('button', { name: 'Edit' }).waitFor()
    // …and a channel on Acme asks Meta (the stand-in) with that token, which it refuses (Graph error 190).
    await navTo(page, 'Channels')
    await page.getByLabel('Provider').selectOption({ label: 'Acme Meta (old account) (Meta WhatsApp Cloud API)' })
    await page.getByLabel('WhatsApp number').fill('+1 555-010-0002')
    await page.getByRole('button', { name: 'Connect number' }).click()
    await page.locator('.form-alert .alert.error, [data-field="number"] .field-error:not(:empty)').first().waitFor()

    // A webhook for the sandbox number signed with the wrong App Secret.
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: SANDBOX_BUSINESS_ID, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: SANDBOX_NUMBERS[0]!.id }, statuses: [] } }] }],
    })
    const forged = await request(`${sandbox.gatewayUrl}/channels/whatsapp/meta/incoming_message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, 'not-the-app-secret') },
      body,
    })
    await forged.body.text()
    assert.equal(forged.statusCode, 401)

    await navTo(page, 'Providers')
    await page.locator('[data-provider]', { hasText: 'Acme Meta' }).locator('.health').getByText('The access token expired or was revoked: paste a new System User token.').waitFor()
    await page.locator('[data-provider]', { hasText: 'Sandbox Meta' }).locator('.health').getByText('The App Secret does not match the app that sends these webhooks').waitFor({ timeout: 5000 })
    await rig.screenshot('02-providers')
  })

  await t.test('bots: an http bot with a short secret is refused inline, then added', async () => {
    await navTo(page, 'Bots')
    await page.getByLabel('Type').selectOption('http')
    await page.getByLabel('Name').fill('My service')
    await page.getByLabel('URL').fill('http://127.0.0.1:9/bot')
    await page.getByLabel('Signing secret').fill('short')
    await page.getByRole('button', { name: 'Add bot' }).click()
    await page.locator('[data-field="config.secret"] .field-error').getByText('at least 16 characters').waitFor()
    await page.getByRole('button', { name: 'Generate a secret' }).click()
    await page.getByRole('button', { name: 'Add bot' }).click()
    await main.getByText('Bot “My service” added.').waitFor()
    await page.locator('[data-bot]', { hasText: 'My service' }).getByText('http://127.0.0.1:9/bot').waitFor()
    await rig.screenshot('03-bots')
  })

  await t.test('channels: invalid, unknown and taken numbers are refused inline; then the number connects with what to paste where', async () => {
    await navTo(page, 'Channels')
    await page.getByLabel('Provider').selectOption({ label: 'Sandbox Meta (Meta WhatsApp Cloud API)' })
    await page.getByLabel('Bot', { exact: true }).selectOption({ label: 'Echo (echo)' })
    const number = page.getByLabel('WhatsApp number')
    const numberError = page.locator('form [data-field="number"] .field-error').last()
    const connect = page.getByRole('button', { name: 'Connect number' })

    await number.fill('12345')
    await connect.click()
    await numberError.getByText('is not a valid phone number').waitFor()

    await number.fill('+1 555-010-0009')
    await connect.click()
    // The stand-in pages its numbers two at a time: all three were read before giving up.
    await numberError.getByText('+15550100009 was not found at the provider').waitFor()
    assert.match(await numberError.innerText(), /\+15550100003/)

    await number.fill('+1 555-010-0001')
    await connect.click()
    await numberError.getByText('already connected to another channel').waitFor()
    await rig.screenshot('04-channels-inline-error')

    await number.fill('+1 555-010-0003')
    await connect.click()
    await main.getByText('+15550100003 is connected.').waitFor()
    const card = page.locator('[data-channel]', { hasText: '+15550100003' })
    await card.getByText('Callback URL:').waitFor()
    assert.ok(await card.locator('details:not(.settings)').evaluate((d) => (d as HTMLDetailsElement).open), 'the new channel shows how to connect it')
    await card.getByText(`${sandbox.gatewayUrl}/channels/whatsapp/meta/incoming_message`).waitFor()
    await card.getByRole('button', { name: 'Copy webhook URL' }).waitFor()
    await card.getByText('No webhook has arrived yet.').waitFor()
    // The focus moved to the new channel's instructions.
    assert.match((await page.evaluate(() => document.activeElement?.textContent)) ?? '', /Connect \+15550100003/)
    await rig.screenshot('05-channels-connected')
  })

  await t.test('phone-sized screen: the channels page reads at 390×844', async () => {
    const phone = await rig.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    t.after(() => phone.close())
    const small = await phone.newPage()
    await small.goto(`${sandbox.consoleUrl.replace('/console/sandbox', '/console/channels')}`)
    await small.getByRole('heading', { name: 'Channels' }).waitFor()
    await small.locator('[data-channel]').first().waitFor()
    // Nothing is wider than the screen (no sideways scrolling).
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`)
    await rig.screenshot('06-channels-phone', small)
  })

  assert.deepEqual(pageErrors.filter((e) => !/status of 4\d\d|status of 50\d/.test(e)), [], 'no script errors on the page')
})
