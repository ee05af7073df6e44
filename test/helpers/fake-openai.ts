/**
 * FakeOpenAi: a real OpenAI-compatible server on 127.0.0.1 for tests of the llm bot.
 *
 * It speaks `POST /v1/chat/completions`, `/v1/audio/transcriptions` (multipart) and `/v1/audio/speech`
 * as OpenAI does: it checks the bearer key, validates each request's shape the way the real API refuses
 * bad ones (400 with OpenAI's error body; a transcription file named `*.opus` gets OpenAI's
 * "Unsupported file format opus"), records every request, and answers from the fixtures in
 * `test/fixtures/openai/` with programmable content.
 *
 * @example
 * const openai = await FakeOpenAi.start({ apiKey: 'sk-test-…' })
 * openai.chatContent = (request) => `You said ${request.json.messages.at(-1).content}`
 * openai.behaviour = { kind: 'rate-limit', retryAfter: '2', times: 1 } // the next call is refused, then it answers
 * … point an llm bot at openai.baseUrl (`http://127.0.0.1:<port>/v1`) …
 * assert.equal(openai.requests[0]?.endpoint, 'chat')
 * await openai.close()
 *
 * Behaviours (`times` limits them to the next n calls; `only` to one endpoint, other calls answer ok):
 * - `{ kind: 'ok' }` (default): chat → `chatContent`, transcription → `transcript`, speech → `speechBytes`.
 * - `{ kind: 'rate-limit', retryAfter?, retryAfterMs? }`: 429 `rate_limit_exceeded` with those headers.
 * - `{ kind: 'quota' }`: 429 `insufficient_quota` (the fixture body).
 * - `{ kind: 'unauthorized' }`: 401 `invalid_api_key`, as for a wrong key.
 * - `{ kind: 'model-not-found' }`: 404 `model_not_found` (also answered for a model not in `models`).
 * - `{ kind: 'status', status, body? }`: any status, with OpenAI's error body unless `body` is given.
 * - `{ kind: 'slow', ms }`: waits `ms`, then answers ok.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const FIXTURES = new URL('../fixtures/openai/', import.meta.url)
const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, unknown>

/** Ogg bytes as a speech answer: the `OggS` capture pattern of a first page, then filler. */
export const FAKE_OGG = Buffer.concat([Buffer.from('OggS'), Buffer.from([0, 2]), Buffer.alloc(58, 7)])

// What OpenAI's transcription endpoint takes, judged by the file name's extension.
const AUDIO_EXTENSIONS = new Set(['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'wav', 'webm'])
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool'])

/** What the fake does with the next calls. */
export type FakeOpenAiBehaviour = (
  | { kind: 'ok' }
  | { kind: 'rate-limit'; retryAfter?: string; retryAfterMs?: string }
  | { kind: 'quota' }
  | { kind: 'unauthorized' }
  | { kind: 'model-not-found' }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'slow'; ms: number }
) & { times?: number; only?: FakeOpenAiEndpoint }

/** The three endpoints, and anything else that was asked for. */
export type FakeOpenAiEndpoint = 'chat' | 'transcription' | 'speech' | 'other'

/** One file part of a multipart request. */
export interface FakeOpenAiFile {
  field: string
  filename: string
  contentType: string
  bytes: Buffer
}

/** One request received, recorded before it is answered. */
export interface FakeOpenAiRequest {
  endpoint: FakeOpenAiEndpoint
  method: string
  /** Path and query, e.g. `/v1/chat/completions`. */
  path: string
  headers: IncomingHttpHeaders
  rawBody: Buffer
  /** The parsed JSON body (chat, speech), or undefined. */
  json: any
  /** A multipart body's text fields and files (transcription), or undefined. */
  form: { fields: Record<string, string>; files: FakeOpenAiFile[] } | undefined
  /** What the fake found wrong with the request's shape (it answered 400 then); empty when fine. */
  problems: string[]
}

/** A local OpenAI-compatible server for tests; see the file comment. */
export class FakeOpenAi {
  /** The base URL to configure: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  /** Every request received, oldest first. */
  readonly requests: FakeOpenAiRequest[] = []
  /** What the next calls get. */
  behaviour: FakeOpenAiBehaviour = { kind: 'ok' }
  /** The assistant's answer: text, or a function of the request (null → `content: null`). */
  chatContent: string | null | ((request: FakeOpenAiRequest) => string | null) = 'Hello from the fake model.'
  /** The transcript a transcription answers. */
  transcript = String(fixture('openai_transcription_response.json').text)
  /** The bytes a speech call answers (with `response_format: "opus"`). */
  speechBytes: Buffer = FAKE_OGG
  /** When set, a model not in the list gets 404 `model_not_found`. */
  models: string[] | undefined

  readonly #server: Server
  readonly #apiKey: string | undefined
  readonly #timers = new Set<NodeJS.Timeout>()
  #countdown: { for: FakeOpenAiBehaviour; left: number } | undefined

  private constructor(server: Server, apiKey: string | undefined) {
    this.#server = server
    this.#apiKey = apiKey
    const { port } = server.address() as AddressInfo
    this.baseUrl = `http://127.0.0.1:${port}/v1`
  }

  /** Starts the fake on a free port; with `apiKey`, every call must carry `Authorization: Bearer <apiKey>`. */
  static async start(options: { apiKey?: string; models?: string[] } = {}): Promise<FakeOpenAi> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const fake = new FakeOpenAi(server, options.apiKey)
    fake.models = options.models
    server.on('request', (req, res) => {
      fake.#handle(req, res).catch(() => res.destroy())
    })
    return fake
  }

  /** The requests to one endpoint. */
  requestsTo(endpoint: FakeOpenAiEndpoint): FakeOpenAiRequest[] {
    return this.requests.filter((request) => request.endpoint === endpoint)
  }

  /** Forgets the requests and goes back to answering ok. */
  reset(): void {
    this.requests.length = 0
    this.behaviour = { kind: 'ok' }
    this.#countdown = undefined
  }

  /** Stops the server, dropping open (slow) connections. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const rawBody = Buffer.concat(chunks)
    const path = req.url ?? ''
    const endpoint: FakeOpenAiEndpoint =
      path === '/v1/chat/completions' ? 'chat' : path === '/v1/audio/transcriptions' ? 'transcription' : path === '/v1/audio/speech' ? 'speech' : 'other'
    const contentType = req.headers['content-type'] ?? ''
    const json = contentType.startsWith('application/json') ? parseJson(rawBody) : undefined
    const form = contentType.startsWith('multipart/form-data') ? parseMultipart(rawBody, contentType) : undefined
    const recorded: FakeOpenAiRequest = { endpoint, method: req.method ?? '', path, headers: req.headers, rawBody, json, form, problems: [] }
    this.requests.push(recorded)

    if (endpoint === 'other' || req.method !== 'POST') {
      // OpenAI's answer to a path it does not serve (e.g. a base URL without /v1).
      return sendError(res, 404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null)
    }
    if (this.#apiKey !== undefined && req.headers.authorization !== `Bearer ${this.#apiKey}`) {
      return this.#unauthorized(res, req.headers.authorization)
    }
    recorded.problems = endpoint === 'chat' ? chatProblems(json) : endpoint === 'speech' ? speechProblems(json) : transcriptionProblems(form)
    if (recorded.problems.length > 0) {
      const unsupported = recorded.problems.find((problem) => problem.startsWith('Unsupported file format'))
      return sendError(res, 400, unsupported ?? recorded.problems.join('; '), 'invalid_request_error', null)
    }
    const model = endpoint === 'transcription' ? form?.fields.model : (json as { model?: string }).model
    if (this.models !== undefined && model !== undefined && !this.models.includes(model)) return this.#modelNotFound(res, model)
    this.#answer(this.#take(endpoint), recorded, res)
  }

  /** The behaviour for a call to `endpoint`, counting `times` down. */
  #take(endpoint: FakeOpenAiEndpoint): FakeOpenAiBehaviour {
    const behaviour = this.behaviour
    if (behaviour.only !== undefined && behaviour.only !== endpoint) return { kind: 'ok' }
    if (behaviour.times !== undefined) {
      if (this.#countdown?.for !== behaviour) this.#countdown = { for: behaviour, left: behaviour.times }
      this.#countdown.left -= 1
      if (this.#countdown.left <= 0) {
        this.#countdown = undefined
        this.behaviour = { kind: 'ok' }
      }
    }
    return behaviour
  }

  #answer(behaviour: FakeOpenAiBehaviour, request: FakeOpenAiRequest, res: ServerResponse): void {
    switch (behaviour.kind) {
      case 'ok':
        return this.#ok(request, res)
      case 'rate-limit': {
        const headers: Record<string, string> = {}
        if (behaviour.retryAfter !== undefined) headers['retry-after'] = behaviour.retryAfter
        if (behaviour.retryAfterMs !== undefined) headers['retry-after-ms'] = behaviour.retryAfterMs
        return sendJson(res, 429, JSON.stringify(fixture('openai_error_429_rate_limit.json')), headers)
      }
      case 'quota':
        return sendJson(res, 429, JSON.stringify(fixture('openai_error_429_insufficient_quota.json')))
      case 'unauthorized':
        return this.#unauthorized(res, request.headers.authorization)
      case 'model-not-found':
        return this.#modelNotFound(res, String(request.json?.model ?? request.form?.fields.model ?? ''))
      case 'status':
        if (behaviour.body !== undefined) return sendJson(res, behaviour.status, behaviour.body)
        return sendError(res, behaviour.status, `The fake server answers ${behaviour.status}.`, behaviour.status >= 500 ? 'server_error' : 'invalid_request_error', null)
      case 'slow': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer)
          this.#ok(request, res)
        }, behaviour.ms)
        this.#timers.add(timer)
        return
      }
    }
  }

  #ok(request: FakeOpenAiRequest, res: ServerResponse): void {
    if (request.endpoint === 'transcription') {
      return sendJson(res, 200, JSON.stringify({ ...fixture('openai_transcription_response.json'), text: this.transcript }))
    }
    if (request.endpoint === 'speech') {
      // The default format is mp3, which WhatsApp does not play as a voice note: answer what was asked.
      const opus = request.json?.response_format === 'opus'
      const bytes = opus ? this.speechBytes : Buffer.concat([Buffer.from('ID3'), Buffer.alloc(40, 1)])
      res.writeHead(200, { 'content-type': opus ? 'audio/ogg' : 'audio/mpeg', 'content-length': bytes.length }).end(bytes)
      return
    }
    const content = typeof this.chatContent === 'function' ? this.chatContent(request) : this.chatContent
    const answer = fixture('openai_chat_completion_response.json') as { model: string; choices: Array<{ message: { content: string | null } }> }
    answer.model = String(request.json?.model ?? answer.model)
    answer.choices[0]!.message.content = content
    sendJson(res, 200, JSON.stringify(answer), { 'x-request-id': 'req_fake0123456789' })
  }

  #unauthorized(res: ServerResponse, authorization: string | undefined): void {
    // OpenAI repeats (part of) the key it refused; this fake repeats all of it, so tests can prove the
    // gateway never passes it on.
    const given = authorization?.replace(/^Bearer /, '') ?? ''
    sendError(res, 401, `Incorrect API key provided: ${given}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key')
  }

  #modelNotFound(res: ServerResponse, model: string): void {
    sendError(res, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found')
  }
}

/** What a chat request gets wrong, in the words OpenAI would refuse it with. */
function chatProblems(json: any): string[] {
  const problems: string[] = []
  if (typeof json !== 'object' || json === null) return ['the body must be JSON']
  if (typeof json.model !== 'string' || json.model === '') problems.push("you must provide a model parameter")
  if (!Array.isArray(json.messages) || json.messages.length === 0) problems.push("'messages' must be a non-empty array")
  for (const [index, message] of (Array.isArray(json.messages) ? json.messages : []).entries()) {
    if (!ROLES.has(message?.role)) problems.push(`messages[${index}].role is not a role`)
    const content = message?.content
    if (typeof content === 'string') continue
    if (!Array.isArray(content)) {
      problems.push(`messages[${index}].content must be a string or an array of parts`)
      continue
    }
    for (const [at, part] of content.entries()) {
      if (part?.type === 'text' && typeof part.text === 'string') continue
      if (part?.type === 'image_url' && typeof part.image_url?.url === 'string' && /^(https:\/\/|data:image\/[a-z+.-]+;base64,)/.test(part.image_url.url)) continue
      problems.push(`messages[${index}].content[${at}] is not a text or image_url part`)
    }
  }
  if (json.max_tokens !== undefined && json.max_completion_tokens !== undefined) problems.push('max_tokens and max_completion_tokens are both set')
  return problems
}

function speechProblems(json: any): string[] {
  if (typeof json !== 'object' || json === null) return ['the body must be JSON']
  const problems: string[] = []
  for (const field of ['model', 'voice', 'input']) if (typeof json[field] !== 'string' || json[field] === '') problems.push(`'${field}' is required`)
  if (typeof json.input === 'string' && json.input.length > 4096) problems.push("'input' is longer than 4096 characters")
  return problems
}

function transcriptionProblems(form: FakeOpenAiRequest['form']): string[] {
  if (form === undefined) return ['the body must be multipart/form-data']
  const problems: string[] = []
  if (!form.fields.model) problems.push("'model' is required")
  const file = form.files.find((part) => part.field === 'file')
  if (file === undefined) problems.push("'file' is required")
  else {
    const extension = file.filename.split('.').pop()?.toLowerCase() ?? ''
    if (!AUDIO_EXTENSIONS.has(extension)) problems.push(`Unsupported file format ${extension}`)
  }
  return problems
}

/** A `multipart/form-data` body's fields and files (enough of RFC 7578 for what clients send). */
function parseMultipart(body: Buffer, contentType: string): FakeOpenAiRequest['form'] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1]
  if (boundary === undefined) return undefined
  const fields: Record<string, string> = {}
  const files: FakeOpenAiFile[] = []
  const delimiter = Buffer.from(`--${boundary}`)
  let at = body.indexOf(delimiter)
  while (at !== -1) {
    const start = at + delimiter.length
    if (body.subarray(start, start + 2).toString() === '--') break
    const next = body.indexOf(delimiter, start)
    if (next === -1) break
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(start + 2, next - 2)
    const split = part.indexOf('\r\n\r\n')
    const head = part.subarray(0, split).toString('utf8')
    const content = part.subarray(split + 4)
    const name = /name="([^"]*)"/.exec(head)?.[1] ?? ''
    const filename = /filename="([^"]*)"/.exec(head)?.[1]
    if (filename === undefined) fields[name] = content.toString('utf8')
    else files.push({ field: name, filename, contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? '', bytes: Buffer.from(content) })
    at = next
  }
  return { fields, files }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body)
}

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null): void {
  sendJson(res, status, JSON.stringify({ error: { message, type, param: null, code } }))
}
