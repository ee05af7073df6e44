// The example bots of examples/ and the examples of docs/bots.md and docs/messages.md, held to the
// gateway's own code: each bot runs as a real process, gets requests signed with the gateway's signBotBody,
// and every reply it gives (and every message the docs show) must pass checkOutbound, the check the
// gateway applies to a bot's answer before it sends anything.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { signBotBody } from '../../src/bots/index.js'
import { checkOutbound, OUTBOUND_TYPES, type OutboundMessage } from '../../src/core/outbound.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SECRET = 'example-bot-secret-3c9e71'
const START_TIMEOUT_MS = 15_000

const PARTICIPANT = { id: 'pt_01k94fybd8rs0v6tpg752sx67a', phone: '+27812345678', bsuid: null, name: 'Thandi' }

/** A request body as the gateway builds it, as the exact bytes to sign and send. */
function gatewayBody(message: Record<string, unknown>): string {
  return JSON.stringify({
    conversation_id: 'conv_01k94fxf7w0zfk3kt5nh3vyca9',
    channel_id: 'chan_01k94fy5w44khxex8mgspq0rq3',
    participant: PARTICIPANT,
    message: { text: null, ...message, payload: {} },
  })
}

const textMessage = (id: string, text: string) => ({ id, type: 'text', text })

interface BotAnswer {
  status: number
  contentType: string | undefined
  text: string
}

/** A running example bot. */
interface RunningBot {
  port: number
  child: ChildProcess
  stderr: () => string
}

/** Starts a bot on a free port of 127.0.0.1 (PORT=0: it prints the port it got once it listens). */
async function startBot(command: string, args: string[]): Promise<RunningBot> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, BOT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not print "listening on …" within ${START_TIMEOUT_MS} ms; stderr: ${stderr}`)), START_TIMEOUT_MS)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before listening; stderr: ${stderr}`))
    })
  })
  return { port, child, stderr: () => stderr }
}

async function stopBot(bot: RunningBot | undefined): Promise<void> {
  if (bot === undefined || bot.child.exitCode !== null || bot.child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => bot.child.once('exit', () => resolve()))
  bot.child.kill('SIGTERM')
  await exited
}

function python3Available(): boolean {
  const probe = spawnSync('python3', ['--version'], { stdio: 'ignore' })
  return probe.error === undefined && probe.status === 0
}

/** Every ```json block of a markdown file, parsed, with the line it starts on. */
function jsonBlocks(file: string): Array<{ where: string; value: Record<string, unknown> }> {
  const text = readFileSync(`${ROOT}${file}`, 'utf8')
  const blocks: Array<{ where: string; value: Record<string, unknown> }> = []
  for (const match of text.matchAll(/^```json\n([\s\S]*?)^```/gm)) {
    const line = text.slice(0, match.index).split('\n').length
    const where = `${file}:${line}`
    let value: unknown
    try {
      value = JSON.parse(match[1]!)
    } catch (error) {
      assert.fail(`${where}: the example is not valid JSON (${(error as Error).message})`)
    }
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${where}: the example is not a JSON object`)
    blocks.push({ where, value: value as Record<string, unknown> })
  }
  return blocks
}

/**
 * `checkOutbound` of every reply, as the gateway checks an answer (a `handover` allowed last, as
 * decodeBotAnswer allows it): the first problem, or the messages.
 */
function checkReplies(replies: unknown[]): { ok: true; messages: OutboundMessage[] } | { ok: false; problem: string } {
  const messages: OutboundMessage[] = []
  for (const [index, reply] of replies.entries()) {
    if ((reply as { type?: unknown }).type === 'handover') {
      if (index !== replies.length - 1) return { ok: false, problem: `replies[${index}]: a handover must be the last reply` }
      continue
    }
    const checked = checkOutbound(reply, `replies[${index}]`)
    if (!checked.ok) return { ok: false, problem: `${checked.path}: ${checked.problem}` }
    messages.push(checked.message)
  }
  return { ok: true, messages }
}

const DOC_FILES = ['docs/bots.md', 'docs/messages.md']
const docBlocks = DOC_FILES.flatMap(jsonBlocks)
const inboundExamples = docBlocks.filter((block) => 'conversation_id' in block.value)

const BOTS = [
  { name: 'node', command: process.execPath, args: ['examples/node-bot.mjs'], available: true, missing: '' },
  { name: 'python', command: 'python3', args: ['examples/python-bot.py'], available: python3Available(), missing: 'python3 not installed' },
]

for (const example of BOTS) {
  describe(`examples/${example.args[0]!.split('/')[1]} (${example.name})`, { timeout: 60_000 }, () => {
    if (!example.available) {
      it('runs', (t) => t.skip(example.missing))
      return
    }
    let bot: RunningBot | undefined
    const dispatcher = new Agent({ keepAliveTimeout: 1_000 })

    before(async () => {
      bot = await startBot(example.command, example.args)
    })
    after(async () => {
      await stopBot(bot)
      await dispatcher.close()
    })

    /** POSTs `body` to the bot with `headers`, as the gateway would. */
    async function post(body: string, headers: Record<string, string>): Promise<BotAnswer> {
      const response = await request(`http://127.0.0.1:${bot!.port}/`, { method: 'POST', body, headers, dispatcher })
      const text = await response.body.text()
      const contentType = response.headers['content-type']
      return { status: response.statusCode, contentType: typeof contentType === 'string' ? contentType : undefined, text }
    }

    /** The gateway's headers for `body`, signed with `secret`. */
    function gatewayHeaders(body: string, idempotencyKey: string, secret = SECRET): Record<string, string> {
      return {
        'content-type': 'application/json',
        'x-switchboard-signature': signBotBody(body, secret),
        'idempotency-key': idempotencyKey,
        'user-agent': 'Switchboard',
      }
    }

    /** Sends a signed message and returns the replies, each already accepted by checkOutbound. */
    async function repliesTo(message: Record<string, unknown>): Promise<OutboundMessage[]> {
      const body = gatewayBody(message)
      const answer = await post(body, gatewayHeaders(body, String(message.id)))
      assert.equal(answer.status, 200, `status ${answer.status}: ${answer.text}; bot stderr: ${bot!.stderr()}`)
      assert.match(answer.contentType ?? '', /^application\/json/)
      const json = JSON.parse(answer.text) as { replies?: unknown }
      assert.ok(Array.isArray(json.replies), `no replies array in ${answer.text}`)
      const checked = checkReplies(json.replies)
      assert.ok(checked.ok, checked.ok ? '' : `the gateway would refuse this answer: ${checked.problem}`)
      return checked.messages
    }

    it('echoes a text, signed over the exact bytes (non-ASCII included)', async () => {
      const replies = await repliesTo(textMessage('msg_01k94fybd8rs0v6tpg752sx6a1', 'Hi 😀, ça va? "quoted" \\ back'))
      assert.deepEqual(replies, [{ type: 'text', text: 'You said: Hi 😀, ça va? "quoted" \\ back' }])
    })

    it('answers "menu" with reply buttons the gateway accepts', async () => {
      for (const [index, typed] of ['menu', '  Menu '].entries()) {
        const replies = await repliesTo(textMessage(`msg_01k94fybd8rs0v6tpg752sx6b${index}`, typed))
        assert.equal(replies.length, 1)
        const [menu] = replies
        assert.ok(menu !== undefined && menu.type === 'buttons', `not buttons: ${JSON.stringify(menu)}`)
        assert.deepEqual(
          menu.buttons.map((button) => button.id),
          ['prices', 'hours', 'person'],
        )
      }
    })

    it('answers a reply with a text naming the chosen id', async () => {
      const replies = await repliesTo({
        id: 'msg_01k94fzqf0m83crzetftw4dvc1',
        type: 'reply',
        text: 'Opening hours',
        reply: { id: 'hours', title: 'Opening hours' },
        context: { message_id: 'msg_01k94fzqf0m83crzetftw4dvqg' },
      })
      assert.deepEqual(replies, [{ type: 'text', text: 'You chose "Opening hours" (id hours).' }])
    })

    it('answers a photo with a reaction to it and a text giving its size', async () => {
      const id = 'msg_01k94fzqf0m83crzetftw4dvd1'
      const replies = await repliesTo({
        id,
        type: 'image',
        text: null,
        media: {
          id: 'med_01k94fzqf0m83crzetftw4dvqk',
          url: 'http://127.0.0.1:9/media/med_01k94fzqf0m83crzetftw4dvqk?expires=1&signature=x',
          mime_type: 'image/jpeg',
          size: 245_760,
          sha256: '55c64d0fcd6f9d5f7c828093857e3fdfda68478bb4e9bd24d481ef391c7804e8',
          filename: null,
          voice: false,
          status: 'stored',
        },
      })
      assert.deepEqual(replies, [
        { type: 'reaction', message_id: id, emoji: '👍' },
        { type: 'text', text: 'Thanks for the photo (246 kB, image/jpeg).' },
      ])
    })

    it('answers 204 to a message with nothing to echo (a location)', async () => {
      const body = gatewayBody({
        id: 'msg_01k94fzqf0m83crzetftw4dve1',
        type: 'location',
        location: { latitude: -33.9249, longitude: 18.4241, name: null, address: null },
      })
      const answer = await post(body, gatewayHeaders(body, 'msg_01k94fzqf0m83crzetftw4dve1'))
      assert.equal(answer.status, 204)
      assert.equal(answer.text, '')
    })

    it('gives a retry with the same Idempotency-Key the first answer', async () => {
      const key = 'msg_01k94fzqf0m83crzetftw4dvf1'
      const first = gatewayBody(textMessage(key, 'first'))
      const again = gatewayBody(textMessage(key, 'second'))
      const answers = [await post(first, gatewayHeaders(first, key)), await post(again, gatewayHeaders(again, key))]
      assert.deepEqual(
        answers.map((answer) => [answer.status, JSON.parse(answer.text)]),
        [
          [200, { replies: [{ type: 'text', text: 'You said: first' }] }],
          [200, { replies: [{ type: 'text', text: 'You said: first' }] }],
        ],
      )
    })

    it('refuses with 401 a request unsigned, signed with another secret, malformed, or signed for other bytes', async () => {
      const body = gatewayBody(textMessage('msg_01k94fzqf0m83crzetftw4dvg1', 'menu'))
      const signed = gatewayHeaders(body, 'msg_01k94fzqf0m83crzetftw4dvg1')
      const { 'x-switchboard-signature': _, ...unsigned } = signed
      const cases: Array<[string, string, Record<string, string>]> = [
        ['unsigned', body, unsigned],
        ['another secret', body, gatewayHeaders(body, 'msg_01k94fzqf0m83crzetftw4dvg1', 'not-the-secret')],
        ['no sha256= prefix', body, { ...signed, 'x-switchboard-signature': signed['x-switchboard-signature']!.slice('sha256='.length) }],
        ['not hex', body, { ...signed, 'x-switchboard-signature': 'sha256=zz' }],
        ['other bytes', body.replace('menu', 'MENU'), signed],
        ['re-serialised body', JSON.stringify(JSON.parse(body), null, 2), signed],
      ]
      for (const [what, sent, headers] of cases) {
        const answer = await post(sent, headers)
        assert.equal(answer.status, 401, `${what}: ${answer.status} ${answer.text}`)
        assert.ok(!answer.text.includes('replies'), `${what}: answered replies to an unverified request`)
      }
    })

    it('answers every request example of the docs with replies the gateway accepts', async () => {
      assert.ok(inboundExamples.length >= 4, 'the docs show a text, a photo, a reply and a location')
      for (const { where, value } of inboundExamples) {
        const body = JSON.stringify(value)
        const message = value.message as { id: string; type: string }
        const answer = await post(body, gatewayHeaders(body, message.id))
        if (message.type === 'location') {
          assert.equal(answer.status, 204, `${where}: ${answer.text}`)
          continue
        }
        assert.equal(answer.status, 200, `${where}: ${answer.status} ${answer.text}`)
        const checked = checkReplies((JSON.parse(answer.text) as { replies: unknown[] }).replies)
        assert.ok(checked.ok, `${where}: ${checked.ok ? '' : checked.problem}`)
        if (message.type === 'image') assert.deepEqual(checked.messages[0], { type: 'reaction', message_id: message.id, emoji: '👍' })
        if (message.type === 'reply') assert.match((checked.messages[0] as { text: string }).text, /\(id hours\)/)
      }
    })
  })
}

describe('the examples in docs/bots.md and docs/messages.md', () => {
  const MESSAGE_FIELDS = new Set(['id', 'type', 'text', 'media', 'reply', 'location', 'contacts', 'reaction', 'context', 'transcript', 'payload'])
  const MEDIA_FIELDS = ['id', 'url', 'mime_type', 'size', 'sha256', 'filename', 'voice', 'status']

  it('show every bot request field and no other', () => {
    const types = new Set<string>()
    for (const { where, value } of inboundExamples) {
      assert.deepEqual(Object.keys(value).sort(), ['channel_id', 'conversation_id', 'message', 'participant'], where)
      assert.deepEqual(Object.keys(value.participant as object).sort(), ['bsuid', 'id', 'name', 'phone'], where)
      const message = value.message as Record<string, unknown>
      for (const key of Object.keys(message)) assert.ok(MESSAGE_FIELDS.has(key), `${where}: message.${key} is not a documented field`)
      for (const key of ['id', 'type', 'text', 'payload']) assert.ok(key in message, `${where}: message.${key} missing`)
      if (message.media !== undefined) assert.deepEqual(Object.keys(message.media as object).sort(), [...MEDIA_FIELDS].sort(), where)
      types.add(String(message.type))
    }
    assert.deepEqual([...types].sort(), ['image', 'location', 'reply', 'text'])
  })

  it('are messages the gateway accepts, of every outbound type', () => {
    const shown = new Set<string>()
    const record = (where: string, message: unknown, prefix: string) => {
      const checked = checkOutbound(message, prefix)
      assert.ok(checked.ok, `${where}: ${checked.ok ? '' : `${checked.path}: ${checked.problem}`}`)
      shown.add(checked.message.type)
    }
    for (const { where, value } of docBlocks) {
      if ('conversation_id' in value) continue
      if (Array.isArray(value.replies)) {
        const checked = checkReplies(value.replies)
        assert.ok(checked.ok, `${where}: ${checked.ok ? '' : checked.problem}`)
        for (const message of checked.messages) shown.add(message.type)
      } else if ('message' in value) {
        record(where, value.message, 'message')
        assert.deepEqual(Object.keys(value).filter((key) => key !== 'message' && key !== 'to'), [], `${where}: an API body has "message" and maybe "to"`)
      } else if ('type' in value) {
        record(where, value, 'message')
      } else {
        // The one other kind of block: what POST /api/media answers.
        assert.deepEqual(Object.keys(value).sort(), ['filename', 'id', 'mime_type', 'sha256', 'size'], `${where}: an example of no known kind`)
      }
    }
    assert.deepEqual([...shown].sort(), [...OUTBOUND_TYPES].sort())
  })

  const bots = readFileSync(`${ROOT}docs/bots.md`, 'utf8')
  const menu = (count: number) => ({
    type: 'buttons',
    text: 'Pick one',
    buttons: Array.from({ length: count }, (_, index) => ({ id: `b${index}`, title: `Option ${index + 1}` })),
  })
  const errorCases: Array<{ line: string; replies: unknown[]; todo?: string }> = [
    {
      line: 'replies[1].buttons[3]: at most 3 buttons',
      replies: [{ type: 'text', text: 'Hello' }, menu(4)],
    },
    {
      line: 'replies[0].buttons[0].title: must be at most 20 characters long',
      replies: [{ type: 'buttons', text: 'Pick one', buttons: [{ id: 'a', title: 'A title over twenty chars' }] }],
    },
    {
      line: 'replies[2].sections[1].title: needs a title when the list has more than one section',
      replies: [
        { type: 'text', text: 'One' },
        { type: 'text', text: 'Two' },
        { type: 'list', text: 'Choose', button: 'Open', sections: [{ title: 'A', rows: [{ id: 'a', title: 'A' }] }, { rows: [{ id: 'b', title: 'B' }] }] },
      ],
    },
    { line: 'replies[0].message_id: must be a gateway message id (msg_…)', replies: [{ type: 'reaction', message_id: 'wamid.HBgL', emoji: '👍' }] },
    { line: 'replies[1].foo: is not a field of this message type', replies: [{ type: 'text', text: 'One' }, { type: 'text', text: 'Two', foo: 1 }] },
  ]
  for (const { line, replies, todo } of errorCases) {
    it(`says what the gateway says: ${line}`, todo === undefined ? {} : { todo }, () => {
      assert.ok(bots.includes(`\n${line}\n`), `docs/bots.md no longer shows "${line}"`)
      const checked = checkReplies(replies)
      assert.equal(checked.ok ? 'accepted' : checked.problem, line)
    })
  }
})
