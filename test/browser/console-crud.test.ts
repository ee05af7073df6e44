/**
 * A complete console, in a real browser against the sandbox: everything the admin API does to providers,
 * bots, channels and tokens can be done from the pages, and each change is checked through the API.
 * Channels are renamed, turned off with an offline message (which the gateway, not the bot, then sends,
 * and the thread says so) and on again, and deleted after a confirmation in place; providers and bots are
 * renamed, deleted, and refused with the API's 409 and the channels to deal with first while in use;
 * providers test their connection and show what proves they work; tokens are listed, created (shown
 * once) and revoked; the navigation counts failed work ("50+" past a page); forms show every problem
 * at once before sending and the API's own refusal at its field. Screenshots on a desktop and a
 * 390×844 phone, which must not scroll sideways.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { request } from 'undici'
import type { Page } from 'playwright-core'
import { SANDBOX_BUSINESS_ID, SANDBOX_NUMBERS, SANDBOX_USER } from '../../src/sandbox/sandbox.js'
import { chromiumOrSkip, navTo, startRig } from './browser-kit.js'

/** The page scrolls sideways nowhere (a phone's width holds every page). */
async function assertNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
  assert.ok(scroll <= client, `${what}: the page is ${scroll}px wide in a ${client}px window`)
}

test('a complete console: channels, providers, bots and tokens as the API has them', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  const main = page.locator('#main')
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))

  /** The admin API as a program sees it (any token; any status). */
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, token = sandbox.adminToken) => {
    const response = await request(`${sandbox.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.body.text()
    return { status: response.statusCode, body: text === '' ? null : JSON.parse(text) }
  }
  const admin = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => {
    const answer = await call(method, path, body)
    assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`)
    return answer.body
  }
  const number = SANDBOX_NUMBERS[0]!
  /** The messages of the sandbox user's conversation once `done` holds for them. */
  const messagesWhen = async (done: (messages: any[]) => boolean, what: string): Promise<any[]> => {
    const deadline = performance.now() + 15_000
    for (;;) {
      const conversation = (await admin('GET', `/api/channels/${sandbox.channelId}/conversations`)).data.find((c: any) => c.participant.phone === SANDBOX_USER.phone)
      const messages = conversation ? (await admin('GET', `/api/conversations/${conversation.id}/messages?limit=200`)).data : []
      if (done(messages)) return messages
      if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(messages.map((m: any) => [m.direction, m.author, m.status, m.text]))}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const channelCard = () => main.locator(`[data-channel="${sandbox.channelId}"]`)

  await page.goto(sandbox.consoleUrl)
  await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()

  await t.test('channels: rename, turn off with an offline message and on again, delete after a confirmation in place', async () => {
    await navTo(page, 'Channels')
    const card = channelCard()
    await card.getByRole('button', { name: 'Rename' }).click()
    await card.getByLabel('New name of the channel').fill('Support line')
    await card.getByRole('button', { name: 'Save name' }).click()
    await card.locator('.alert.ok', { hasText: 'Renamed to “Support line”.' }).waitFor()
    assert.equal(await card.locator('h3').innerText(), 'Support line')
    assert.equal((await admin('GET', `/api/channels/${sandbox.channelId}`)).name, 'Support line')

    await card.getByRole('button', { name: 'Disable…' }).click()
    await card.getByLabel('Offline message (optional)').fill('We are closed until Monday 9:00.')
    await card.getByRole('button', { name: 'Disable channel' }).click()
    await card.locator('.badge', { hasText: 'Disabled' }).waitFor()
    assert.match(await card.locator('[data-offline]').innerText(), /The gateway answers everyone who writes with “?We are closed until Monday 9:00\./)
    const off = await admin('GET', `/api/channels/${sandbox.channelId}`)
    assert.equal(off.enabled, false)
    assert.equal(off.disabled_message, 'We are closed until Monday 9:00.')
    await rig.screenshot('85-channel-disabled')

    // A second channel, on another number, to delete: the question comes first, and "Keep it" keeps it.
    const spare = await admin('POST', '/api/channels', { provider_id: sandbox.providerId, bot_id: sandbox.echoBotId, number: SANDBOX_NUMBERS[1]!.display_phone_number, name: 'Spare line' })
    await page.reload()
    const spareCard = main.locator(`[data-channel="${spare.id}"]`)
    await spareCard.getByRole('button', { name: 'Delete' }).click()
    const question = spareCard.getByRole('group', { name: 'Confirm deletion' })
    assert.match(await question.innerText(), /Delete channel Spare line \(\+15550100002\)\? .*its conversations and messages are deleted with it/)
    await rig.screenshot('86-channel-delete-question')
    await question.getByRole('button', { name: 'Keep it' }).click()
    assert.equal(await question.isVisible(), false)
    assert.equal((await call('GET', `/api/channels/${spare.id}`)).status, 200)
    await spareCard.getByRole('button', { name: 'Delete' }).click()
    await question.getByRole('button', { name: 'Delete channel' }).click()
    await main.locator('.alert.ok', { hasText: 'Deleted channel Spare line (+15550100002).' }).waitFor()
    await spareCard.waitFor({ state: 'detached' })
    assert.equal((await call('GET', `/api/channels/${spare.id}`)).status, 404)
  })

  await t.test('a disabled channel’s offline reply is the gateway’s, not the bot’s; Enable hands messages to the bot again', async () => {
    const said = await sandbox.standIn.userSays({ number, from: SANDBOX_USER.phone, name: SANDBOX_USER.name, text: 'anyone there?' })
    assert.equal(said.statusCode, 200, said.text)
    const messages = await messagesWhen((all) => all.some((m) => m.direction === 'out' && m.text === 'We are closed until Monday 9:00.'), 'the offline reply')
    const reply = messages.find((m) => m.direction === 'out' && m.text === 'We are closed until Monday 9:00.')
    assert.equal(reply.author, 'gateway')
    assert.ok(!messages.some((m) => m.direction === 'out' && m.author === 'bot'), 'the bot answered a disabled channel')

    await navTo(page, 'Conversations')
    await main.getByRole('link', { name: /Sandbox User/ }).first().click()
    const bubble = main.locator('.thread .msg.out', { hasText: 'We are closed until Monday 9:00.' })
    await bubble.waitFor()
    assert.equal(await bubble.getAttribute('data-author'), 'gateway')
    assert.equal(await bubble.locator('.who .author').innerText(), 'Gateway')
    const asked = main.locator('.thread .msg.in', { hasText: 'anyone there?' })
    assert.match(await asked.locator('.foot').innerText(), /Answered by the gateway; the bot was not asked/)
    await rig.screenshot('87-gateway-offline-reply')

    await navTo(page, 'Channels')
    await channelCard().getByRole('button', { name: 'Enable' }).click()
    await channelCard().locator('.alert.ok', { hasText: 'Enabled: the bot answers again.' }).waitFor()
    const on = await admin('GET', `/api/channels/${sandbox.channelId}`)
    assert.equal(on.enabled, true)
    // The offline message is kept for the next time.
    assert.equal(on.disabled_message, 'We are closed until Monday 9:00.')
    assert.equal(await channelCard().locator('[data-offline]').count(), 0)
  })

  await t.test('providers: rename, test the connection, what shows it works; deleting one in use is refused with what to do; an unused one is deleted', async (st) => {
    await navTo(page, 'Providers')
    const card = main.locator(`[data-provider="${sandbox.providerId}"]`)
    await card.getByRole('button', { name: 'Edit' }).click()
    await card.getByLabel('Name', { exact: true }).fill('Sandbox Meta (main)')
    await card.getByRole('button', { name: 'Save changes' }).click()
    await card.locator('.alert.ok', { hasText: 'Saved Sandbox Meta (main).' }).waitFor()
    assert.equal((await admin('GET', `/api/providers/${sandbox.providerId}`)).name, 'Sandbox Meta (main)')

    // What proves the provider works, when the API tells (health.evidence); a bare "Healthy" otherwise.
    const provider = await admin('GET', `/api/providers/${sandbox.providerId}`)
    if (provider.health.evidence) {
      const evidence = card.locator('.evidence')
      await evidence.waitFor()
      assert.match(await evidence.innerText(), /Last webhook received: /)
      assert.match(await evidence.innerText(), /Last send it accepted: /)
      // A webhook arrived in the previous case: its time is shown, not "never".
      assert.doesNotMatch(await evidence.locator('[data-evidence="webhook"]').innerText(), /never/)
    } else {
      st.diagnostic('waiting for health.evidence on GET /api/providers/{id}: the evidence assertions did not run')
      await card.locator('.health', { hasText: 'Healthy' }).waitFor()
    }

    // Test connection: the stand-in for Meta answers with the stored token.
    const probe = await call('POST', `/api/providers/${sandbox.providerId}/test`)
    await card.getByRole('button', { name: 'Test connection' }).click()
    const result = card.locator('.check-result [data-check-status]')
    await result.waitFor()
    if (probe.status === 200) {
      assert.equal(await result.getAttribute('data-check-status'), 'ok')
      assert.match(await result.innerText(), /Connection works/)
    } else {
      st.diagnostic(`waiting for POST /api/providers/{id}/test (answers ${probe.status} now): the page shows the API's error inline`)
      assert.equal(await result.getAttribute('data-check-status'), 'error')
      assert.equal(await result.innerText(), probe.body.error.message)
    }

    await rig.screenshot('88-provider-tested')

    // In use by the sandbox channel: refused with the API's sentence and the channel to delete first.
    await card.getByRole('button', { name: 'Delete' }).click()
    await card.getByRole('button', { name: 'Delete provider' }).click()
    const refusal = card.locator('[data-delete-problem] .alert.error')
    await refusal.waitFor()
    const text = await refusal.innerText()
    assert.match(text, /is used by at least one channel; delete those channels first\./)
    assert.match(text, /Support line \(\+15550100001\)/)
    assert.match(text, /Delete that channel on the Channels page, then delete this one here\./)
    assert.equal((await call('GET', `/api/providers/${sandbox.providerId}`)).status, 200)
    await rig.screenshot('89-provider-in-use')

    // A second account the stand-in accepts (its credentials are checked at creation): the sandbox's own token.
    const { accessToken } = JSON.parse(readFileSync(join(sandbox.gateway.config.dataDir, 'sandbox-secrets.json'), 'utf8')) as { accessToken: string }
    const unused = await admin('POST', '/api/providers', {
      type: 'meta_cloud_api',
      name: 'Old account',
      config: { business_id: SANDBOX_BUSINESS_ID, access_token: accessToken, app_secret: 'old-app-secret-0123456789', verify_token: 'old-verify' },
    })
    await page.reload()
    const old = main.locator(`[data-provider="${unused.id}"]`)
    await old.getByRole('button', { name: 'Delete' }).click()
    await old.getByRole('button', { name: 'Delete provider' }).click()
    await main.locator('.alert.ok', { hasText: 'Deleted provider Old account.' }).waitFor()
    await old.waitFor({ state: 'detached' })
    assert.equal((await call('GET', `/api/providers/${unused.id}`)).status, 404)
  })

  await t.test('the channel’s webhook URL carries the API’s warning when it may not work', async (st) => {
    const channel = await admin('GET', `/api/channels/${sandbox.channelId}`)
    await navTo(page, 'Channels')
    const warning = channelCard().locator('[data-webhook-url-problem]')
    if (typeof channel.webhook_url_problem === 'string') {
      await warning.waitFor()
      assert.match(await warning.innerText(), new RegExp(channel.webhook_url_problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    } else {
      if (!('webhook_url_problem' in channel)) st.diagnostic('waiting for webhook_url_problem: only its absence was checked')
      assert.equal(await warning.count(), 0)
    }
  })

  await t.test('bots: rename; deleting the one a channel uses is refused with what to do; an unused one is deleted', async () => {
    await navTo(page, 'Bots')
    const echo = main.locator(`[data-bot="${sandbox.echoBotId}"]`)
    await echo.getByRole('button', { name: 'Edit' }).click()
    await echo.getByLabel('Name', { exact: true }).fill('Echo (spare)')
    await echo.getByRole('button', { name: 'Save changes' }).click()
    await echo.locator('.alert.ok', { hasText: 'Saved Echo (spare).' }).waitFor()
    assert.equal((await admin('GET', `/api/bots/${sandbox.echoBotId}`)).name, 'Echo (spare)')

    const used = main.locator(`[data-bot="${sandbox.answeringBot.id}"]`)
    await used.getByRole('button', { name: 'Delete' }).click()
    await used.getByRole('button', { name: 'Delete bot' }).click()
    const refusal = used.locator('[data-delete-problem] .alert.error')
    await refusal.waitFor()
    const text = await refusal.innerText()
    assert.match(text, /answers at least one channel; move those channels to another bot or delete them first\./)
    assert.match(text, /Support line \(\+15550100001\)/)
    assert.equal((await call('GET', `/api/bots/${sandbox.answeringBot.id}`)).status, 200)
    await rig.screenshot('90-bot-in-use')

    await echo.getByRole('button', { name: 'Delete' }).click()
    await echo.getByRole('button', { name: 'Delete bot' }).click()
    await main.locator('.alert.ok', { hasText: 'Deleted bot Echo (spare).' }).waitFor()
    await echo.waitFor({ state: 'detached' })
    assert.equal((await call('GET', `/api/bots/${sandbox.echoBotId}`)).status, 404)
  })

  await t.test('tokens: listed, created with a role and shown once, then revoked after a confirmation', async () => {
    await navTo(page, 'API tokens')
    const list = main.getByRole('list', { name: /^Tokens of / })
    await list.locator('[data-token]', { hasText: 'SWITCHBOARD_ADMIN_TOKEN' }).waitFor()

    await main.getByLabel('Name').fill('CI reader')
    await main.getByLabel('Role').selectOption('member')
    await main.getByRole('button', { name: 'Create token' }).click()
    const once = main.locator('[data-new-token]')
    await once.waitFor()
    const token = await once.locator('.token-value').innerText()
    assert.ok(token.length >= 20, `the token is shown: ${token}`)
    assert.match(await once.innerText(), /Copy it now: it is shown only this once/)
    await once.getByRole('button', { name: 'Copy token' }).waitFor()
    await rig.screenshot('91-token-created')
    const tokenId = await once.getAttribute('data-new-token')
    const row = list.locator(`[data-token="${tokenId}"]`)
    assert.match(await row.innerText(), /CI reader\s+Member/)

    // The token works, as a member: it reads, and may not list tokens.
    assert.equal((await call('GET', '/api/channels', undefined, token)).status, 200)
    const teams = (await admin('GET', '/api/teams')).data
    const team = teams.find((t: any) => t.id === 'team_default')
    const listed = (await admin('GET', `/api/teams/${team.id}/tokens`)).data.find((t: any) => t.id === tokenId)
    assert.equal(listed.name, 'CI reader')
    assert.equal(listed.role, 'member')

    // A member signed in sees the API's refusal in words, not an empty page.
    const memberContext = await rig.browser.newContext({ viewport: { width: 1280, height: 900 } })
    const member = await memberContext.newPage()
    await member.goto(`${sandbox.gatewayUrl}/console/tokens#token=${encodeURIComponent(token)}`)
    await member.locator('#main .alert.error', { hasText: 'Only an admin token may' }).waitFor()
    await memberContext.close()

    // Shown once: after a reload it is nowhere on the page.
    await page.reload()
    await list.locator(`[data-token="${tokenId}"]`).waitFor()
    assert.ok(!(await page.content()).includes(token), 'the token is shown again after a reload')

    await row.getByRole('button', { name: 'Revoke' }).click()
    assert.match(await row.getByRole('group', { name: 'Confirm revocation' }).innerText(), /Revoke “CI reader”\? Every program and person using it is refused from now on/)
    await row.getByRole('button', { name: 'Revoke token' }).click()
    await main.locator('.alert.ok', { hasText: 'Revoked “CI reader”.' }).waitFor()
    await list.locator(`[data-token="${tokenId}"][data-revoked="true"]`).waitFor()
    assert.equal((await call('GET', '/api/channels', undefined, token)).status, 401)
    assert.ok((await admin('GET', `/api/teams/${team.id}/tokens`)).data.find((t: any) => t.id === tokenId).revoked_at, 'revoked_at is set')
  })

  await t.test('the navigation counts failed work: the jobs on the first page, “50+” past it', async () => {
    const nav = page.getByRole('navigation', { name: 'Console pages' })
    const count = nav.locator('#failed-count')
    assert.equal(await count.isVisible(), false)
    // A bot that is down: each message fails once (the rig allows one attempt) and its job dies.
    const down = await admin('POST', '/api/bots', { name: 'Down bot', type: 'http', config: { url: 'http://127.0.0.1:9/bot', secret: 'down-bot-secret-0123456789' } })
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { bot_id: down.id })
    const deadCount = async () => (await admin('GET', '/api/jobs/dead?limit=100')).data.length
    const say = async (text: string) => assert.equal((await sandbox.standIn.userSays({ number, from: SANDBOX_USER.phone, name: SANDBOX_USER.name, text })).statusCode, 200)
    const deadAtLeast = async (n: number) => {
      const deadline = performance.now() + 30_000
      while ((await deadCount()) < n) {
        if (performance.now() > deadline) assert.fail(`fewer than ${n} dead jobs`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await say('down 0')
    await deadAtLeast(1)
    await navTo(page, 'Bots')
    await nav.locator('#failed-count[data-count="1"]').waitFor()
    assert.equal(await nav.getByRole('link', { name: /^Failed work/ }).getAttribute('aria-label'), 'Failed work, 1 job gave up')
    await rig.screenshot('92-nav-failed-count')

    for (let i = 1; i <= 50; i++) await say(`down ${i}`)
    await deadAtLeast(51)
    await navTo(page, 'Failed work')
    await nav.locator('#failed-count[data-count="50+"]').waitFor()
    assert.equal(await count.innerText(), '50+')
    assert.equal((await admin('GET', '/api/jobs/dead?limit=50')).next_cursor !== null, true)
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { bot_id: sandbox.answeringBot.id })
  })

  await t.test('forms show every problem at once before sending, and the API’s refusal at its field', async () => {
    await navTo(page, 'Providers')
    await page.getByRole('button', { name: 'Add provider' }).click()
    const alert = main.locator('form .form-alert .alert.error').last()
    await alert.getByText('5 things to fix before this can be saved').waitFor()
    for (const name of ['name', 'config.business_id', 'config.access_token', 'config.app_secret', 'config.verify_token']) {
      const wrapper = main.locator(`form [data-field="${name}"]`).last()
      assert.notEqual(await wrapper.locator('.field-error').innerText(), '', `${name} has no error`)
      assert.equal(await wrapper.locator('input').getAttribute('aria-invalid'), 'true')
    }
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'name')
    await page.getByLabel('WhatsApp Business Account ID').fill('acme')
    await page.getByRole('button', { name: 'Add provider' }).click()
    await main.locator('form [data-field="config.business_id"] .field-error', { hasText: 'Digits only' }).last().waitFor()
    await rig.screenshot('93-form-all-problems')
    assert.equal((await admin('GET', '/api/providers')).data.length, 1, 'nothing was sent')

    // An llm bot: the empty required fields and the numbers out of bounds, together.
    await navTo(page, 'Bots')
    await page.getByLabel('Type').selectOption('llm')
    await page.getByLabel('History length').fill('lots')
    await page.getByLabel('Temperature (optional)').fill('3')
    await page.getByRole('button', { name: 'Add bot' }).click()
    await main.locator('.form-alert .alert.error', { hasText: '5 things to fix' }).waitFor()
    const errorOf = (name: string) => main.locator(`form [data-field="${name}"] .field-error`).last()
    assert.match(await errorOf('name').innerText(), /Give the bot a name/)
    assert.match(await errorOf('config.base_url').innerText(), /API’s address/)
    assert.match(await errorOf('config.model').innerText(), /model’s name/)
    assert.match(await errorOf('config.history_messages').innerText(), /“lots” is not a whole number\. A whole number from 0 to 200/)
    assert.match(await errorOf('config.temperature').innerText(), /A number from 0 to 2/)

    // What only the API knows stays the API's to say, at its field: a signing secret too short.
    await page.getByLabel('Type').selectOption('http')
    await page.getByLabel('Name').fill('Short secret')
    await page.getByLabel('URL').fill('http://127.0.0.1:9/bot')
    await page.getByLabel('Signing secret').fill('short')
    await page.getByRole('button', { name: 'Add bot' }).click()
    await errorOf('config.secret').getByText('at least 16 characters').waitFor()
    assert.equal(await errorOf('name').innerText(), '')
    assert.equal(await main.locator('.form-alert .alert.error').count(), 0)
  })

  await t.test('on a 390×844 phone the pages keep to the screen', async () => {
    const phone = await rig.browser.newContext({ viewport: { width: 390, height: 844 }, reducedMotion: 'reduce' })
    const small = await phone.newPage()
    await small.goto(sandbox.consoleUrl)
    await small.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()
    for (const [path, heading, shot] of [
      ['/console/channels', 'Channels', '94-phone-channels'],
      ['/console/providers', 'Providers', '95-phone-providers'],
      ['/console/bots', 'Bots', '96-phone-bots'],
      ['/console/tokens', 'API tokens', '97-phone-tokens'],
    ] as const) {
      await small.goto(`${sandbox.gatewayUrl}${path}`)
      await small.getByRole('heading', { level: 1, name: heading }).waitFor()
      if (path === '/console/channels') {
        const card = small.locator(`[data-channel="${sandbox.channelId}"]`)
        await card.getByRole('button', { name: 'Disable…' }).click()
        await card.getByLabel('Offline message (optional)').waitFor()
      }
      if (path === '/console/providers') {
        const card = small.locator(`[data-provider="${sandbox.providerId}"]`)
        await card.getByRole('button', { name: 'Delete' }).click()
        await card.getByRole('button', { name: 'Delete provider' }).click()
        await card.locator('[data-delete-problem] .alert.error').waitFor()
      }
      await assertNoSidewaysScroll(small, path)
      await rig.screenshot(shot, small)
    }
    await phone.close()
    assert.deepEqual(pageErrors, [])
  })
})
