/**
 * The config of a Twilio provider (SPEC §4): the Account SID and its auth token.
 */
import { z } from 'zod'
import type { ProviderConfig } from '../provider.js'

/** A validated Twilio config. */
export interface TwilioConfig {
  /** `AC` + 32 hex characters. */
  account_sid: string
  /** HTTP Basic password of the REST API; also keys `X-Twilio-Signature`. */
  auth_token: string
}

/** Config keys holding secrets. */
export const twilioSecretFields = ['auth_token'] as const

const KNOWN_FIELDS = 'account_sid and auth_token'
const SID_HELP = 'your Twilio Account SID: AC followed by 32 hexadecimal characters, as shown on the Twilio Console dashboard.'
const TOKEN_HELP = 'the Auth Token shown next to the Account SID on the Twilio Console dashboard.'

const twilioConfigSchema = z.strictObject(
  {
    account_sid: z
      .string({ error: (issue) => (issue.input === undefined ? `account_sid is required: ${SID_HELP}` : `account_sid must be ${SID_HELP}`) })
      .trim()
      .regex(/^AC[0-9a-fA-F]{32}$/, { error: `account_sid must be ${SID_HELP}` }),
    auth_token: z
      .string({ error: (issue) => (issue.input === undefined ? `auth_token is required: ${TOKEN_HELP}` : `auth_token must be text: ${TOKEN_HELP}`) })
      // A pasted token with a trailing newline would fail every call and every signature.
      .trim()
      .min(1, { error: `auth_token must not be empty: ${TOKEN_HELP}` }),
  },
  { error: `The config must be an object with ${KNOWN_FIELDS}.` },
)

/** Validates a full Twilio config (unknown keys rejected). */
export function parseTwilioConfig(
  input: unknown,
): { ok: true; config: TwilioConfig & ProviderConfig } | { ok: false; field: string; message: string } {
  const result = twilioConfigSchema.safeParse(input)
  if (result.success) return { ok: true, config: result.data }
  const issue = result.error.issues[0]
  if (issue === undefined) return { ok: false, field: 'config', message: `The config must be an object with ${KNOWN_FIELDS}.` }
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0] ?? 'config'
    return { ok: false, field, message: `${field} is not a Twilio setting; the settings are ${KNOWN_FIELDS}.` }
  }
  const field = issue.path[0]
  return { ok: false, field: typeof field === 'string' ? field : 'config', message: issue.message }
}

/** Reads a stored config, or null when it no longer validates. */
export function readTwilioConfig(config: ProviderConfig): TwilioConfig | null {
  const parsed = parseTwilioConfig(config)
  return parsed.ok ? parsed.config : null
}
