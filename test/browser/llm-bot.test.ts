/**
 * The llm bot on the Bots page in a real browser, against a fake OpenAI-compatible server on loopback:
 * an inline error, then the bot is created with its key masked (and its voice settings); the Test box
 * shows the model's answer as a bubble, then the error sentence ("Key refused: …") when the key is
 * refused; an edit that leaves the keys empty keeps them; and a real WhatsApp message the model refuses
 * turns the health line to "Key refused" on the open page without a reload (and an answer, back to "Healthy").
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { adminApi, chromiumOrSkip, navTo, signIn, startRig } from './browser-kit.js'
import { FakeOpenAi, type FakeOpenAiRequest } from '../helpers/fake-openai.js'

/** The last user message's text of a chat request (a string content, or its text parts). */
function lastUserText(request: FakeOpenAiRequest): string {
  const users = ((request.json?.messages ?? []) as Array<{ role: string; content: unknown }>).filter((m) => m.role === 'user')
  const content = users.at(-1)?.content
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : '')).join(' ')
  return ''
}

const MODEL_KEY = 'sk-acme-model-key-0123456789abcdef'
const TRANSCRIPTION_KEY = 'sk-acme-whisper-key-9876543210'

test('console: an llm bot is created, tested, and shows its health', async (t) => {
  if (!chromiumOrSkip(t)) return
  const rig = await startRig()
  t.after(() => rig.close())
  const model = await FakeOpenAi.start({ apiKey: MODEL_KEY })
  model.chatContent = (request) => `Model says: ${lastUserText(request)}`
  t.after(() => model.close())
  const { page, sandbox } = rig
  const main = page.locator('#main')
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
  const admin = adminApi(sandbox)
  const card = page.locator('[data-bot]', { hasText: 'Acme helper' })
  let botId = ''

  await t.test('the form takes every setting; a bad history length is refused inline, then the bot is added', async () => {
    await signIn(page, sandbox)
    await navTo(page, 'Bots')
    await page.getByLabel('Type').selectOption('llm')
    await page.getByLabel('Name', { exact: true }).fill('Acme helper')
    await page.getByLabel('Base URL', { exact: true }).fill(model.baseUrl)
    await page.getByLabel('Model', { exact: true }).fill('fake-gpt')
    await page.getByLabel('API key (optional)').fill(MODEL_KEY)
    await page.getByLabel('System prompt').fill('You are the Acme help desk.\nAnswer in one sentence.')
    await page.getByLabel('Temperature (optional)').fill('0.3')
    await page.getByLabel('Max tokens (optional)').fill('300')
    await page.getByLabel('Send the limit as').selectOption('max_completion_tokens')
    await page.getByLabel('Show the model the pictures users send').check()
    await page.getByLabel('Reset reply').fill('Starting over!')
    // The voice settings sit in a closed section until opened.
    assert.equal(await page.getByLabel('Transcription model').isVisible(), false)
    await page.getByText('Voice notes (optional)').click()
    await page.getByLabel('Transcription model').fill('whisper-1')
    await page.getByLabel('Transcription API key').fill(TRANSCRIPTION_KEY)
    await page.getByLabel('Speech model').fill('tts-1')
    await page.getByLabel('Voice', { exact: true }).fill('alloy')
    await page.getByLabel('Speak', { exact: true }).selectOption('never')
    await page.getByLabel('History length').fill('500')
    await page.getByRole('button', { name: 'Add bot' }).click()
    const historyError = page.locator('[data-field="config.history_messages"] .field-error')
    await historyError.waitFor()
    assert.match(await historyError.innerText(), /200/)
    assert.equal(await page.getByLabel('History length').getAttribute('aria-invalid'), 'true')
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'config.history_messages')

    await page.getByLabel('History length').fill('12')
    await page.getByRole('button', { name: 'Add bot' }).click()
    await main.getByText('Bot “Acme helper” added.').waitFor()
    await card.waitFor()
    botId = (await card.getAttribute('data-bot')) ?? ''
    await card.getByText('Asks fake-gpt at').waitFor()
    await card.getByText('Remembers the last 12 messages').waitFor()
    await card.getByText('transcribes voice notes with whisper-1').waitFor()
    await card.locator('.health').getByText('Not called yet').waitFor()

    const stored = await admin('GET', `/api/bots/${botId}`)
    assert.equal(stored.type, 'llm')
    assert.equal(stored.config.model, 'fake-gpt')
    assert.equal(stored.config.system_prompt, 'You are the Acme help desk.\nAnswer in one sentence.')
    assert.equal(stored.config.temperature, 0.3)
    assert.equal(stored.config.max_tokens, 300)
    assert.equal(stored.config.max_tokens_field, 'max_completion_tokens')
    assert.equal(stored.config.history_messages, 12)
    assert.equal(stored.config.vision, true)
    assert.equal(stored.config.reset_reply, 'Starting over!')
    assert.equal(stored.config.transcription.model, 'whisper-1')
    assert.deepEqual([stored.config.speech.model, stored.config.speech.voice, stored.config.speech.mode], ['tts-1', 'alloy', 'never'])
  })

  await t.test('the keys are masked on the page and never shown in full', async () => {
    const html = await page.content()
    assert.ok(!html.includes(MODEL_KEY), 'the model key appears in full')
    assert.ok(!html.includes(TRANSCRIPTION_KEY), 'the transcription key appears in full')
    const shown = /with the key (\S+?)\.?$/m.exec(await card.innerText())?.[1]
    assert.ok(shown && shown !== MODEL_KEY && shown.includes('…'), `the key is shown masked (${shown})`)
  })

  await t.test('the Test box shows the answer as a bubble; a refused key shows the sentence and "Key refused"', async () => {
    await card.getByLabel('Test message').fill('Where is my order?')
    await card.getByRole('button', { name: 'Test', exact: true }).click()
    const answer = card.locator('.test-thread .msg.out', { hasText: 'Model says: Where is my order?' })
    await answer.waitFor()
    const call = model.requestsTo('chat').at(-1)!
    assert.equal(call.headers.authorization, `Bearer ${MODEL_KEY}`)
    assert.equal(call.json.model, 'fake-gpt')
    assert.deepEqual(call.json.messages?.[0], { role: 'system', content: 'You are the Acme help desk.\nAnswer in one sentence.' })
    assert.equal(lastUserText(call), 'Where is my order?')
    assert.equal(await card.locator('.test-thread .msg.in').innerText(), 'You (test)\nWhere is my order?')
    await rig.screenshot('20-llm-bot-test')

    model.behaviour = { kind: 'unauthorized' }
    await card.getByLabel('Test message').fill('Hello again')
    await card.getByRole('button', { name: 'Test', exact: true }).click()
    const error = card.locator('.test-result .alert.error')
    await error.waitFor()
    const sentence = await error.innerText()
    assert.match(sentence, /^Key refused: \S.{20,}/, `the error sentence, classified: ${sentence}`)
    assert.ok(!sentence.includes(MODEL_KEY), 'the error repeats the key')
    assert.equal(await card.locator('.test-thread').count(), 0, 'the earlier answer is gone')
    await rig.screenshot('21-llm-bot-key-refused')
  })

  await t.test('an edit that leaves the keys empty keeps them', async () => {
    model.behaviour = { kind: 'ok' }
    await card.getByRole('button', { name: 'Edit' }).click()
    assert.equal(await card.getByLabel('API key (optional)').inputValue(), '')
    assert.match((await card.locator('[data-field="config.api_key"] .hint').innerText()) ?? '', /Stored: \S+…/)
    // The stored values are in the form; the prompt in its text area.
    assert.equal(await card.getByLabel('System prompt').inputValue(), 'You are the Acme help desk.\nAnswer in one sentence.')
    assert.equal(await card.getByLabel('History length').inputValue(), '12')
    await card.getByLabel('System prompt').fill('You are the Acme help desk. Be brief.')
    await card.getByRole('button', { name: 'Save changes' }).click()
    const saved = page.locator('[data-bot]', { hasText: 'Acme helper' })
    await saved.getByText('You are the Acme help desk. Be brief.').waitFor({ state: 'attached' })
    const stored = await admin('GET', `/api/bots/${botId}`)
    assert.equal(stored.config.system_prompt, 'You are the Acme help desk. Be brief.')
    assert.ok(stored.config.transcription.api_key, 'the transcription key is still stored')

    await saved.getByLabel('Test message').fill('Still there?')
    await saved.getByRole('button', { name: 'Test', exact: true }).click()
    await saved.locator('.test-thread .msg.out', { hasText: 'Model says: Still there?' }).waitFor()
    assert.equal(model.requestsTo('chat').at(-1)!.headers.authorization, `Bearer ${MODEL_KEY}`, 'the stored key was kept')
  })

  await t.test('a WhatsApp message the model refuses turns the open page’s health to "Key refused", a later answer back to "Healthy"', async () => {
    await admin('PATCH', `/api/channels/${sandbox.channelId}`, { bot_id: botId })
    model.behaviour = { kind: 'unauthorized' }
    const before = model.requestsTo('chat').length
    const said = await request(`${sandbox.standInUrl}/sandbox/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Is anyone there?' }),
    })
    await said.body.text()
    assert.equal(said.statusCode, 200)
    // No reload: the page reads the health again by itself.
    const bot = page.locator('[data-bot]', { hasText: 'Acme helper' })
    await bot.locator('.health').getByText('Key refused:').waitFor({ timeout: 15_000 })
    assert.match(await bot.locator('.health').innerText(), /Needs attention\s+Key refused: \S.*Last seen/)
    assert.ok(model.requestsTo('chat').slice(before).some((call) => lastUserText(call).includes('Is anyone there?')), 'the message reached the model')
    await rig.screenshot('22-llm-bot-health-from-message')

    // The key works again: the next message is answered and the health line says so, still without a reload.
    model.behaviour = { kind: 'ok' }
    const again = await request(`${sandbox.standInUrl}/sandbox/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Hello?' }),
    })
    await again.body.text()
    await bot.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 })
    assert.match(await bot.locator('.health').innerText(), /^Healthy\s+Last seen \S/)
  })

  assert.deepEqual(pageErrors.filter((e) => !/status of 4\d\d|status of 50\d/.test(e)), [], 'no script errors on the page')
})
