/**
 * The stored config of an `llm` bot: any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp,
 * LM Studio), its model and prompt, how much of the conversation it sees, and optional voice. One zod
 * schema validates the admin API's input and rebuilds the bot from the stored JSON, so the two agree.
 */
import { z } from 'zod'

/** The config keys (dotted, as the API names fields) that hold secrets: masked in every response. */
export const LLM_SECRET_FIELDS = ['api_key', 'transcription.api_key', 'speech.api_key'] as const

/** When replies are spoken: never, only to a voice note (`reciprocal`), or always. */
export const SPEECH_MODES = ['never', 'reciprocal', 'always'] as const

// Used as given: OpenAI and Ollama write their base URLs with `/v1`, and paths are appended to it.
const baseUrl = z
  .url({ protocol: /^https?$/, error: 'must be the http:// or https:// base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1' })
  .max(2048)
const apiKey = z.string().max(1024)
const model = z.string().trim().min(1).max(200)

const transcriptionSchema = z.strictObject(
  { base_url: baseUrl.optional(), api_key: apiKey.optional(), model },
  { error: 'must be a JSON object with model (and base_url, api_key when they differ from the chat ones)' },
)

const speechSchema = z.strictObject(
  {
    base_url: baseUrl.optional(),
    api_key: apiKey.optional(),
    model,
    voice: z.string().trim().min(1).max(100),
    mode: z.enum(SPEECH_MODES).default('reciprocal'),
  },
  { error: 'must be a JSON object with model and voice (and mode, base_url, api_key)' },
)

/** The llm bot's config with its defaults; what the API stores (snake_case, as shown). */
export const llmConfigSchema = z.strictObject(
  {
    base_url: baseUrl,
    /** Optional: local servers (Ollama, LM Studio) need none; sent as `Authorization: Bearer …`. */
    api_key: apiKey.optional(),
    model,
    system_prompt: z.string().max(20_000),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    /**
     * The request field that carries `max_tokens`: OpenAI deprecated `max_tokens` (its o-series refuse it)
     * for `max_completion_tokens`, which local servers do not know; so the default is the one they do.
     */
    max_tokens_field: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
    history_messages: z.number().int().min(0).max(200).default(20),
    vision: z.boolean().default(false),
    /** The whole text that resets the conversation; empty turns the command off. */
    reset_command: z.string().trim().max(100).default('/reset'),
    reset_reply: z.string().max(4096).default('Conversation reset.'),
    timeout_ms: z.number().int().min(1000).max(600_000).default(60_000),
    transcription: transcriptionSchema.optional(),
    speech: speechSchema.optional(),
  },
  { error: 'must be a JSON object with base_url, model and system_prompt' },
)

/** A validated llm bot config, defaults applied. */
export type LlmConfig = z.output<typeof llmConfigSchema>
