/**
 * Two console settings in a real browser against the sandbox, each checked through the API: a
 * channel's retention ("Delete messages older than (days)") is refused out of range at its field before
 * anything is sent, then saved, shown in the settings line and cleared again; and webhooks that fail
 * their signature (an unsigned Meta webhook for the sandbox number) show on the provider's card with
 * the address they came from and what to do about them.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { SANDBOX_BUSINESS_ID, SANDBOX_NUMBERS } from '../../src/sandbox/sandbox.js'
import { adminApi, chromiumOrSkip, navTo, startRig } from './browser-kit.js'

test('console settings: message retention on a channel, forged webhooks on a provider', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const { page, sandbox } = rig
  const main = page.locator('#main')
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))

  const admin = adminApi(sandbox)

  await page.goto(sandbox.consoleUrl)
  await page.getByRole('heading', { level: 1, name: 'Sandbox chat' }).waitFor()

  await t.test('channels: retention is checked at its field, saved, shown in the summary and cleared', async () => {
    await navTo(page, 'Channels')
    const card = main.locator(`[data-channel="${sandbox.channelId}"]`)
    const summary = card.locator('.settings-summary')
    assert.doesNotMatch(await summary.innerText(), /kept/, 'no retention before one is set')
    await card.getByText('Messaging settings: closed window, opt-out, handover, keeping messages').click()
    const days = card.getByLabel('Delete messages older than (days)')
    await days.waitFor()
    assert.equal(await days.inputValue(), '')

    // Out of range: refused at the field before anything is sent.
    await days.fill('3651')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await card.locator('[data-field="retention_days"] .field-error', { hasText: 'A whole number of days from 1 to 3650' }).waitFor()
    assert.equal(await days.getAttribute('aria-invalid'), 'true')
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'retention_days')
    assert.equal((await admin('GET', `/api/channels/${sandbox.channelId}`)).retention_days, null, 'a refused value is not sent')

    await days.fill('30')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await card.locator('.form-alert .alert.ok', { hasText: 'saved.' }).waitFor()
    assert.equal((await admin('GET', `/api/channels/${sandbox.channelId}`)).retention_days, 30)
    assert.match(await summary.innerText(), /messages kept 30 days/)
    assert.equal(await card.getByLabel('Delete messages older than (days)').inputValue(), '30', 'the form is drawn again with the saved value')

    // Emptied: kept for ever again (sent as null).
    await card.getByLabel('Delete messages older than (days)').fill('')
    await card.getByRole('button', { name: 'Save settings' }).click()
    await card.locator('.form-alert .alert.ok', { hasText: 'saved.' }).waitFor()
    assert.equal((await admin('GET', `/api/channels/${sandbox.channelId}`)).retention_days, null)
    await page.waitForFunction((id) => !document.querySelector(`[data-channel="${id}"] .settings-summary`)?.textContent?.includes('kept'), sandbox.channelId)
  })

  await t.test('providers: unsigned webhooks show with the address they came from and what to do', async () => {
    const provider = (await admin('GET', '/api/providers')).data.find((p: any) => p.name === 'Sandbox Meta')
    assert.ok(provider, 'the sandbox provider is listed')
    assert.equal(provider.health.evidence.signature_failures, null, 'no failed signature before the forged webhook')

    // A webhook for the sandbox number without any signature: refused, and recorded with its address.
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: SANDBOX_BUSINESS_ID, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100001', phone_number_id: SANDBOX_NUMBERS[0]!.id }, statuses: [] } }] }],
    })
    const forged = await request(`${sandbox.gatewayUrl}/channels/whatsapp/meta/incoming_message`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    await forged.body.text()
    assert.equal(forged.statusCode, 401)

    const deadline = performance.now() + 10_000
    let failures: any = null
    while (failures === null) {
      failures = (await admin('GET', `/api/providers/${provider.id}`)).health.evidence.signature_failures
      if (failures === null) {
        if (performance.now() > deadline) assert.fail('the failed signature never reached the provider evidence')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    assert.equal(failures.count, 1)
    assert.ok(failures.last_source, 'the address it came from is kept')
    assert.deepEqual(failures.sources.map((s: any) => [s.address, s.count]), [[failures.last_source, 1]])

    await navTo(page, 'Providers')
    const line = main.locator(`[data-provider="${provider.id}"] [data-evidence="signature-failures"]`)
    await line.waitFor()
    const text = await line.innerText()
    assert.match(text, new RegExp(`1 webhook failed signature checks; last from ${failures.last_source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at `))
    assert.match(text, new RegExp(`From: ${failures.last_source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(1×, last `))
    assert.match(text, /App Secret/, 'says which secret to check when they are the provider’s own')
    assert.match(text, /forged webhooks the gateway refused/, 'says what they are otherwise')
    await rig.screenshot('95-provider-signature-failures')
  })

  assert.deepEqual(pageErrors, [])
})
