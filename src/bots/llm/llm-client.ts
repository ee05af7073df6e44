/**
 * A client of one OpenAI-compatible server (its base URL and key): chat completions, transcriptions and
 * speech, over the injected undici dispatcher's `request` (no `fetch`: 11× slower in our measurements),
 * each call bounded in time and answer size. Failures are `LlmFailure`s (llm-errors.ts).
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
import { randomBytes } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Clock } from '../../core/clock.js'
import type { Secret } from '../../core/scrub.js'
import { readCapped } from '../bot-http.js'
import { badAnswerFailure, statusFailure, transportFailure, type LlmEndpoint } from './llm-errors.js'

/** Where a client calls and how it names itself in errors. */
export interface LlmTarget {
  /** The base URL as configured, e.g. `https://api.openai.com/v1` (paths are appended to it). */
  baseUrl: string
  apiKey: string | undefined
  /** The config fields errors point at (`api_key`, `base_url`, or the transcription/speech ones). */
  keyField: string
  baseField: string
  model: string
  /** Every stored secret of the bot (keys, base URL passwords): no error of this client may carry one. */
  secrets: readonly Secret[]
}

/** What a client receives from the bot. */
export interface LlmClientOptions {
  dispatcher: Dispatcher
  clock: Clock
  /** Overall limit of one call, connect to last body byte. */
  timeoutMs: number
}

/** The part of a chat completion the bot uses. */
export interface ChatAnswer {
  /** The assistant's text; null when the model said nothing (or only called tools). */
  content: string | null
  finishReason: string | null
}

// A chat answer is a few KB; a transcript less. Speech gets WhatsApp's 16 MB audio limit.
const MAX_CHAT_BYTES = 4 * 1024 * 1024
const MAX_TRANSCRIPT_BYTES = 1024 * 1024
const MAX_SPEECH_BYTES = 16 * 1024 * 1024

// OpenAI takes flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav and webm, and judges the file by its name:
// the same Ogg/Opus bytes named `*.opus` got 400 "Unsupported file format opus", named `voice.ogg` 200.
// @see https://platform.openai.com/docs/api-reference/audio/createTranscription
const AUDIO_EXTENSIONS: Record<string, string> = {
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'm4a',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/webm': 'webm',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
}

/** The multipart file name and type of an audio of `mimeType`: `voice.ogg` / `audio/ogg` for a voice note. */
export function audioFileOf(mimeType: string): { filename: string; contentType: string } {
  const bare = mimeType.split(';')[0]!.trim().toLowerCase()
  const extension = AUDIO_EXTENSIONS[bare] ?? 'ogg'
  // `audio/opus` is what some clients call an Ogg/Opus voice note; servers know it as audio/ogg.
  const contentType = bare === 'audio/opus' || AUDIO_EXTENSIONS[bare] === undefined ? 'audio/ogg' : bare
  return { filename: `voice.${extension}`, contentType }
}

/** Calls one OpenAI-compatible server. */
export class LlmClient {
  readonly #origin: string
  readonly #basePath: string
  readonly #search: string
  readonly #apiKey: string | undefined
  readonly #endpoint: LlmEndpoint
  readonly #options: LlmClientOptions

  constructor(target: LlmTarget, options: LlmClientOptions) {
    const url = new URL(target.baseUrl)
    this.#origin = url.origin
    // `…/v1` and `…/v1/` both work: the path is appended after one slash.
    this.#basePath = url.pathname.replace(/\/+$/, '')
    // Kept for servers that carry a version in the query (Azure's `?api-version=`).
    this.#search = url.search
    this.#apiKey = target.apiKey === undefined || target.apiKey === '' ? undefined : target.apiKey
    this.#endpoint = {
      shownBase: `${url.origin}${this.#basePath}`,
      keyField: target.keyField,
      baseField: target.baseField,
      model: target.model,
      secrets: target.secrets,
    }
    this.#options = options
  }

  /** How errors name this server (for the bot's own failures about it). */
  get endpoint(): LlmEndpoint {
    return this.#endpoint
  }

  /** `POST /chat/completions` with a JSON body; the first choice's text. */
  async chat(body: Record<string, unknown>, signal?: AbortSignal): Promise<ChatAnswer> {
    const answer = await this.#call('/chat/completions', Buffer.from(JSON.stringify(body)), 'application/json', MAX_CHAT_BYTES, signal)
    const text = answer.bytes.toString('utf8')
    const json = parseJson(text)
    const choice = (json as { choices?: unknown } | undefined)?.choices
    const first = Array.isArray(choice) ? (choice[0] as { message?: { content?: unknown }; finish_reason?: unknown } | undefined) : undefined
    if (first === undefined || typeof first !== 'object' || first === null) {
      throw badAnswerFailure(this.#endpoint, json === undefined ? 'a body that is not JSON' : 'JSON without choices[0]', text)
    }
    return { content: contentText(first.message?.content), finishReason: typeof first.finish_reason === 'string' ? first.finish_reason : null }
  }

  /** `POST /audio/transcriptions` (multipart `file` and `model`); the transcript. */
  async transcribe(audio: { bytes: Buffer; mimeType: string }, signal?: AbortSignal): Promise<string> {
    const { filename, contentType } = audioFileOf(audio.mimeType)
    const form = multipart([
      { name: 'model', value: this.#endpoint.model },
      { name: 'file', filename, contentType, value: audio.bytes },
    ])
    const answer = await this.#call('/audio/transcriptions', form.body, form.contentType, MAX_TRANSCRIPT_BYTES, signal)
    const text = answer.bytes.toString('utf8')
    const json = parseJson(text) as { text?: unknown } | undefined
    if (typeof json?.text === 'string') return json.text
    // A server told (or defaulting) to answer `response_format=text` sends the transcript as is.
    if (json === undefined && (answer.contentType ?? '').startsWith('text/plain')) return text
    throw badAnswerFailure(this.#endpoint, 'a transcription without "text"', text)
  }

  /** `POST /audio/speech` asking for Ogg/Opus (`response_format: "opus"`): the audio bytes. */
  async speech(input: { voice: string; text: string }, signal?: AbortSignal): Promise<{ bytes: Buffer; contentType: string | undefined }> {
    // `opus` is Ogg-contained Opus, what WhatsApp plays as a voice note; the default mp3 shows as a file.
    // @see https://platform.openai.com/docs/api-reference/audio/createSpeech
    const body = { model: this.#endpoint.model, voice: input.voice, input: input.text, response_format: 'opus' }
    const answer = await this.#call('/audio/speech', Buffer.from(JSON.stringify(body)), 'application/json', MAX_SPEECH_BYTES, signal)
    return { bytes: answer.bytes, contentType: answer.contentType }
  }

  /** One POST, read to its end (or its cap); non-2xx and transport failures thrown classified. */
  async #call(
    path: string,
    body: Buffer,
    contentType: string,
    maxBytes: number,
    signal: AbortSignal | undefined,
  ): Promise<{ bytes: Buffer; contentType: string | undefined }> {
    signal?.throwIfAborted()
    const headers: Record<string, string> = { 'content-type': contentType, accept: 'application/json', 'user-agent': 'Switchboard' }
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`
    const { timeoutMs, dispatcher, clock } = this.#options
    // One controller per call, cleared in `finally` (AbortSignal.any over a long-lived signal leaks on
    // Node 20: nodejs/node#54614), as the http bot does.
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    const onCallerAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onCallerAbort, { once: true })
    try {
      let response: Dispatcher.ResponseData
      let read: { bytes: Buffer; complete: boolean }
      try {
        response = await dispatcher.request({
          origin: this.#origin,
          path: `${this.#basePath}${path}${this.#search}`,
          method: 'POST',
          headers,
          body,
          signal: controller.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        })
        // MUST read (or destroy) the body on every path, or the connection never returns to the pool.
        read = await readCapped(response.body, maxBytes)
      } catch (error) {
        if (signal?.aborted === true) throw signal.reason
        throw transportFailure(this.#endpoint, error, timedOut, timeoutMs)
      }
      const type = response.headers['content-type']
      const responseType = Array.isArray(type) ? type[0] : type
      if (response.statusCode < 200 || response.statusCode > 299) {
        throw statusFailure(this.#endpoint, response.statusCode, response.headers, read.bytes.toString('utf8'), clock)
      }
      if (!read.complete) throw badAnswerFailure(this.#endpoint, `more than ${maxBytes / 1024 / 1024} MB`, '')
      return { bytes: read.bytes, contentType: responseType }
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onCallerAbort)
    }
  }
}

/** The text of a message's `content`: a string, or (some servers) text parts. */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    const texts = content.flatMap((part) => (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string' ? [(part as { text: string }).text] : []))
    return texts.length === 0 ? null : texts.join('')
  }
  return null
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}


type FormField = { name: string; value: string } | { name: string; filename: string; contentType: string; value: Buffer }

/** A `multipart/form-data` body (RFC 7578) of text fields and files. */
function multipart(fields: FormField[]): { body: Buffer; contentType: string } {
  const boundary = `----switchboard${randomBytes(12).toString('hex')}`
  const parts: Buffer[] = []
  for (const field of fields) {
    const head =
      'filename' in field
        ? `--${boundary}\r\nContent-Disposition: form-data; name="${field.name}"; filename="${field.filename}"\r\nContent-Type: ${field.contentType}\r\n\r\n`
        : `--${boundary}\r\nContent-Disposition: form-data; name="${field.name}"\r\n\r\n`
    parts.push(Buffer.from(head), typeof field.value === 'string' ? Buffer.from(field.value) : field.value, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}
