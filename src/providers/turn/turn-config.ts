/**
 * The config of a Turn.io provider (SPEC §4): the API token and the optional webhook HMAC secret.
 */
import { z } from 'zod'
import type { ProviderConfig } from '../provider.js'

/** A validated Turn.io config. */
export interface TurnConfig {
  /** Bearer token of the API (created in Turn's UI; valid one year by default). */
  auth_token: string
  /** Keys `X-Turn-Hook-Signature`; empty means webhooks are not signed. */
  hmac_secret: string
}

/** Config keys holding secrets. */
export const turnSecretFields = ['auth_token', 'hmac_secret'] as const

const KNOWN_FIELDS = 'auth_token and hmac_secret'
const TOKEN_HELP = "an API token from Turn's Settings > API & Webhooks."

const turnConfigSchema = z.strictObject(
  {
    auth_token: z
      .string({ error: (issue) => (issue.input === undefined ? `auth_token is required: ${TOKEN_HELP}` : `auth_token must be text: ${TOKEN_HELP}`) })
      // A pasted token with a trailing newline would fail every call.
      .trim()
      .min(1, { error: `auth_token must not be empty: ${TOKEN_HELP}` }),
    // Optional, and empty is allowed: Turn then sends webhooks unsigned and none are checked. Defaulted
    // to '' so that readers always find a string.
    hmac_secret: z
      .string({ error: "hmac_secret must be text: the webhook secret from Turn's webhook settings, or empty for unsigned webhooks." })
      .trim()
      .default(''),
  },
  { error: `The config must be an object with ${KNOWN_FIELDS}.` },
)

/** Validates a full Turn.io config (unknown keys rejected, `hmac_secret` defaulted to empty). */
export function parseTurnConfig(
  input: unknown,
): { ok: true; config: TurnConfig & ProviderConfig } | { ok: false; field: string; message: string } {
  const result = turnConfigSchema.safeParse(input)
  if (result.success) return { ok: true, config: result.data }
  const issue = result.error.issues[0]
  if (issue === undefined) return { ok: false, field: 'config', message: `The config must be an object with ${KNOWN_FIELDS}.` }
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0] ?? 'config'
    return { ok: false, field, message: `${field} is not a Turn.io setting; the settings are ${KNOWN_FIELDS}.` }
  }
  const field = issue.path[0]
  return { ok: false, field: typeof field === 'string' ? field : 'config', message: issue.message }
}

/** Reads a stored config, or null when it no longer validates. */
export function readTurnConfig(config: ProviderConfig): TurnConfig | null {
  const parsed = parseTurnConfig(config)
  return parsed.ok ? parsed.config : null
}
