/**
 * The `llm` bot: a language model behind any OpenAI-compatible API answers each message, seeing the
 * conversation so far (handed in by the task), images when `vision` is on, voice notes as their
 * transcripts; replies are text, or spoken Ogg/Opus voice notes when `speech` says so.
 */
import type { Dispatcher } from 'undici'
import { systemClock, type Clock } from '../../core/clock.js'
import { urlSecrets } from '../../core/scrub.js'
import type { Bot, BotReply, BotRequest } from '../bot.js'
import { LlmClient } from './llm-client.js'
import type { LlmConfig } from './llm-config.js'
import { buildChatMessages } from './llm-messages.js'

/** What an `LlmBot` receives from the composition root. */
export interface LlmBotOptions {
  /** undici dispatcher (the gateway's shared Agent). */
  dispatcher: Dispatcher
  /** For `Retry-After` dates; the system clock when absent. */
  clock?: Clock | undefined
  /** Told about what the bot recovered from (a failed speech call answered as text); never given secrets. */
  warn?: ((event: string, fields: Record<string, unknown>) => void) | undefined
}

// OpenAI's speech input limit; a longer answer is sent as text rather than cut.
const SPEECH_INPUT_MAX = 4096
// Ogg pages start with this capture pattern; anything else (an mp3 from a server that ignored
// `response_format`) would reach WhatsApp as a broken voice note.
const OGG_MAGIC = Buffer.from('OggS')

/** Answers with a model; see the file comment. */
export class LlmBot implements Bot {
  readonly type = 'llm'
  readonly historyMessages: number
  readonly resetCommand: string | undefined
  readonly resetReply: string | undefined
  /** Present only when the config has `transcription`, so the task transcribes only for such bots. */
  readonly transcribe?: (audio: { bytes: Buffer; mimeType: string }, signal?: AbortSignal) => Promise<string>

  readonly #config: LlmConfig
  readonly #chat: LlmClient
  readonly #speech: LlmClient | undefined
  readonly #warn: LlmBotOptions['warn']

  constructor(config: LlmConfig, options: LlmBotOptions) {
    this.#config = config
    this.historyMessages = config.history_messages
    this.resetCommand = config.reset_command === '' ? undefined : config.reset_command
    this.resetReply = config.reset_command === '' || config.reset_reply === '' ? undefined : config.reset_reply
    this.#warn = options.warn
    const clientOptions = { dispatcher: options.dispatcher, clock: options.clock ?? systemClock, timeoutMs: config.timeout_ms }
    const { transcription, speech } = config
    // Each client's errors are kept free of every secret of the bot, not only of its own key.
    const secrets = [
      ...[config.api_key, transcription?.api_key, speech?.api_key].filter((key): key is string => key !== undefined),
      ...[config.base_url, transcription?.base_url, speech?.base_url].flatMap(urlSecrets),
    ]
    this.#chat = new LlmClient(
      { baseUrl: config.base_url, apiKey: config.api_key, keyField: 'api_key', baseField: 'base_url', model: config.model, secrets },
      clientOptions,
    )
    if (transcription !== undefined) {
      // A separate server (only vLLM of the local ones serves speech-to-text) takes its own key; the
      // chat server's key is used only with the chat server's URL.
      const separate = transcription.base_url !== undefined
      const client = new LlmClient(
        {
          baseUrl: transcription.base_url ?? config.base_url,
          apiKey: transcription.api_key ?? (separate ? undefined : config.api_key),
          keyField: transcription.api_key !== undefined || separate ? 'transcription.api_key' : 'api_key',
          baseField: separate ? 'transcription.base_url' : 'base_url',
          model: transcription.model,
          secrets,
        },
        clientOptions,
      )
      this.transcribe = (audio, signal) => client.transcribe(audio, signal)
    }
    if (speech !== undefined && speech.mode !== 'never') {
      const separate = speech.base_url !== undefined
      this.#speech = new LlmClient(
        {
          baseUrl: speech.base_url ?? config.base_url,
          apiKey: speech.api_key ?? (separate ? undefined : config.api_key),
          keyField: speech.api_key !== undefined || separate ? 'speech.api_key' : 'api_key',
          baseField: separate ? 'speech.base_url' : 'base_url',
          model: speech.model,
          secrets,
        },
        clientOptions,
      )
    }
  }

  async respond(request: BotRequest, signal?: AbortSignal): Promise<BotReply[]> {
    const config = this.#config
    const messages = await buildChatMessages({ systemPrompt: config.system_prompt, vision: config.vision }, request)
    const body: Record<string, unknown> = { model: config.model, messages }
    if (config.temperature !== undefined) body.temperature = config.temperature
    if (config.max_tokens !== undefined) body[config.max_tokens_field] = config.max_tokens
    const answer = await this.#chat.chat(body, signal)
    const text = answer.content?.trim() ?? ''
    if (text === '') return []
    if (this.#speaks(request) && text.length <= SPEECH_INPUT_MAX) {
      const spoken = await this.#spoken(text, request, signal)
      if (spoken !== undefined) return [spoken]
    }
    return [{ type: 'text', text }]
  }

  /** Whether this answer is spoken: mode `always`, or `reciprocal` to a voice note. */
  #speaks(request: BotRequest): boolean {
    const mode = this.#config.speech?.mode
    if (this.#speech === undefined || request.media === undefined) return false
    return mode === 'always' || (mode === 'reciprocal' && request.message.type === 'audio' && request.message.fields.media?.voice === true)
  }

  /** The text as a stored voice note; undefined (the text goes instead) when speech fails. */
  async #spoken(text: string, request: BotRequest, signal: AbortSignal | undefined): Promise<BotReply | undefined> {
    const speech = this.#config.speech!
    try {
      const audio = await this.#speech!.speech({ voice: speech.voice, text }, signal)
      if (audio.bytes.length < OGG_MAGIC.length || !audio.bytes.subarray(0, OGG_MAGIC.length).equals(OGG_MAGIC)) {
        this.#warn?.('bot:speech:not_ogg', { model: speech.model, contentType: audio.contentType ?? null, bytes: audio.bytes.length })
        return undefined
      }
      // `audio/ogg`, never `audio/opus`: what WhatsApp accepts for a voice note.
      const stored = await request.media!.store(audio.bytes, 'audio/ogg', 'reply.ogg')
      return { type: 'audio', media_id: stored.id, voice: true }
    } catch (error) {
      // The caller's own cancellation is not a speech failure: it ends the whole answer.
      if (signal?.aborted === true) throw signal.reason
      this.#warn?.('bot:speech:failed', { model: speech.model, error: error instanceof Error ? error.message : String(error) })
      return undefined
    }
  }
}
