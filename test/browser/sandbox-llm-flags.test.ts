/**
 * `npm run sandbox -- --llm-url … --llm-model … --llm-key …` as a real process: it says which bot
 * answers, puts an llm bot with those settings on the sandbox channel, and a message written as the
 * sandbox's WhatsApp user reaches the model (a fake OpenAI-compatible server) and its answer goes out to
 * the stand-in for Meta. Started again without the flags, the channel is the demo bot's again; half a
 * pair of flags stops start-up with a sentence.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { FakeOpenAi, type FakeOpenAiRequest } from '../helpers/fake-openai.js'

/** The last user message's text of a chat request (a string content, or its text parts). */
function lastUserText(request: FakeOpenAiRequest): string {
  const users = ((request.json?.messages ?? []) as Array<{ role: string; content: unknown }>).filter((m) => m.role === 'user')
  const content = users.at(-1)?.content
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : '')).join(' ')
  return ''
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MAIN = join(ROOT, 'src', 'sandbox', 'main.ts')
const KEY = 'sk-local-sandbox-key-0123456789'

interface Running {
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
  stop(): Promise<void>
}

/** Runs `npm run sandbox -- <args>` (tsx on main.ts, as package.json does). */
function runSandbox(args: string[]): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** Waits until the sandbox printed its banner; returns the gateway, the stand-in and the token from its URL. */
async function started(run: Running): Promise<{ gatewayUrl: string; standInUrl: string; token: string }> {
  const deadline = Date.now() + 60_000
  while (!run.stdout().includes('Stop with Ctrl+C.')) {
    const code = await Promise.race([run.exited, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 100))])
    if (code !== 'waiting') assert.fail(`the sandbox exited (${code}) before starting: ${run.stderr()}`)
    if (Date.now() > deadline) assert.fail(`the sandbox did not start within a minute: ${run.stdout()} ${run.stderr()}`)
  }
  const url = new URL(/http:\/\/127\.0\.0\.1:\d+\/console\/sandbox#\S+/.exec(run.stdout())![0])
  const fragment = new URLSearchParams(url.hash.slice(1))
  return { gatewayUrl: url.origin, standInUrl: fragment.get('sandbox')!, token: fragment.get('token')! }
}

async function call(base: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const response = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.body.text()
  assert.ok(response.statusCode < 300, `${method} ${path}: ${response.statusCode} ${text}`)
  return text === '' ? null : JSON.parse(text)
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('sandbox: --llm-url and --llm-model put an llm bot on the sandbox channel', async (t) => {
  const model = await FakeOpenAi.start({ apiKey: KEY })
  model.chatContent = (request) => `Model says: ${lastUserText(request)}`
  t.after(() => model.close())
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-sandbox-llm-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))

  await t.test('half of the flags stops start-up with a sentence', async () => {
    const run = runSandbox(['--port', '0', '--data', dataDir, '--llm-url', model.baseUrl])
    assert.equal(await run.exited, 1)
    assert.match(run.stderr(), /--llm-url needs --llm-model too/)
  })

  await t.test('with the flags the model answers the sandbox user through the whole WhatsApp path', async (t) => {
    const run = runSandbox(['--port', '0', '--data', dataDir, '--llm-url', model.baseUrl, '--llm-model', 'fake-llama', '--llm-key', KEY])
    t.after(() => run.stop())
    const { gatewayUrl, standInUrl, token } = await started(run)
    assert.match(run.stdout(), new RegExp(`Answering: the llm bot "Local model", model fake-llama at ${model.baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    assert.ok(!run.stdout().includes(KEY), 'the key is printed')

    const channel = (await call(gatewayUrl, token, 'GET', '/api/channels?limit=200')).data.find((c: { name: string }) => c.name === 'Sandbox')
    const bot = await call(gatewayUrl, token, 'GET', `/api/bots/${channel.bot_id}`)
    assert.equal(bot.type, 'llm')
    assert.equal(bot.name, 'Local model')
    assert.equal(bot.config.base_url, model.baseUrl)
    assert.equal(bot.config.model, 'fake-llama')
    assert.ok(typeof bot.config.system_prompt === 'string' && bot.config.system_prompt.length > 20, 'a default system prompt is set')
    assert.notEqual(bot.config.api_key, KEY)
    assert.ok(bot.config.api_key, 'the key is stored (masked)')

    await call(standInUrl, token, 'POST', '/sandbox/messages', { text: 'Hi model, what can you do?' })
    const asked = await until('the model to be asked', async () => model.requestsTo('chat').find((c) => lastUserText(c) === 'Hi model, what can you do?'))
    assert.equal(asked.headers.authorization, `Bearer ${KEY}`)
    assert.equal(asked.json.model, 'fake-llama')
    assert.equal(asked.json.messages?.[0]?.role, 'system')
    const conversation = (await call(gatewayUrl, token, 'GET', `/api/channels/${channel.id}/conversations?limit=200`)).data[0]
    const reply = await until('the answer to go out to WhatsApp', async () => {
      const messages = (await call(gatewayUrl, token, 'GET', `/api/conversations/${conversation.id}/messages?limit=200`)).data as Array<{ direction: string; text: string; status: string }>
      return messages.find((m) => m.direction === 'out' && m.text === 'Model says: Hi model, what can you do?' && ['sent', 'delivered', 'read'].includes(m.status))
    })
    assert.ok(reply)
  })

  await t.test('without the flags the channel is the demo bot’s again', async (t) => {
    const run = runSandbox(['--port', '0', '--data', dataDir])
    t.after(() => run.stop())
    const { gatewayUrl, token } = await started(run)
    assert.match(run.stdout(), /Answering: the http bot "Demo \(every message type\)"/)
    const channel = (await call(gatewayUrl, token, 'GET', '/api/channels?limit=200')).data.find((c: { name: string }) => c.name === 'Sandbox')
    const bot = await call(gatewayUrl, token, 'GET', `/api/bots/${channel.bot_id}`)
    assert.equal(bot.name, 'Demo (every message type)')
  })
})
