/**
 * The config of a Meta Cloud API provider (SPEC §4): validated once on create, with sentences that say
 * where in Meta's tools each value is found.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { ProviderConfig } from '../provider.js'

/** A validated Meta config. */
export interface MetaConfig {
  /** The WhatsApp Business Account id: lists the account's numbers. */
  business_id: string
  /** System-user token, sent as bearer on every Graph call. */
  access_token: string
  /** Keys the HMAC of webhook bodies. */
  app_secret: string
  /** Typed into the App Dashboard; checked by the GET handshake through its SHA-256. */
  verify_token: string
  template_language_code: string
}

/** Config keys holding secrets: encrypted at rest, masked in answers. */
export const metaSecretFields = ['access_token', 'app_secret', 'verify_token'] as const

const KNOWN_FIELDS = 'business_id, access_token, app_secret, verify_token and template_language_code'

/** A required, non-empty text value; `help` says what it is and where to find it. */
function requiredText(field: string, help: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${field} is required: ${help}` : `${field} must be text: ${help}`) })
    // Pasted tokens often carry a trailing newline; one would break every signature and bearer check.
    .trim()
    .min(1, { error: `${field} must not be empty: ${help}` })
}

const metaConfigSchema = z.strictObject(
  {
    business_id: requiredText('business_id', "the WhatsApp Business Account ID, as shown in Meta's WhatsApp Manager.").regex(/^\d+$/, {
      error: "business_id must be the WhatsApp Business Account ID: digits only, as shown in Meta's WhatsApp Manager.",
    }),
    access_token: requiredText('access_token', 'a System User access token with whatsapp_business_messaging and whatsapp_business_management permissions.'),
    app_secret: requiredText('app_secret', "the App Secret from the Meta App Dashboard (App settings > Basic); it verifies webhook signatures."),
    verify_token: requiredText('verify_token', 'the Verify token you type in the App Dashboard (WhatsApp > Configuration > Webhook).'),
    template_language_code: z
      .string({ error: 'template_language_code must be a language code such as en or pt_BR.' })
      .trim()
      .regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, { error: 'template_language_code must be a language code such as en or pt_BR.' })
      .default('en'),
  },
  { error: `The config must be an object with ${KNOWN_FIELDS}.` },
)

/** Validates a full Meta config (unknown keys rejected, `template_language_code` defaulted to `en`). */
export function parseMetaConfig(
  input: unknown,
): { ok: true; config: MetaConfig & ProviderConfig } | { ok: false; field: string; message: string } {
  const result = metaConfigSchema.safeParse(input)
  if (result.success) return { ok: true, config: result.data }
  const issue = result.error.issues[0]
  if (issue === undefined) return { ok: false, field: 'config', message: `The config must be an object with ${KNOWN_FIELDS}.` }
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0] ?? 'config'
    return { ok: false, field, message: `${field} is not a Meta Cloud API setting; the settings are ${KNOWN_FIELDS}.` }
  }
  const field = issue.path[0]
  return { ok: false, field: typeof field === 'string' ? field : 'config', message: issue.message }
}

/**
 * Reads a stored config into a `MetaConfig`, or null when it no longer validates (it was validated on
 * write, so this only happens after a schema change or a bad manual edit).
 */
export function readMetaConfig(config: ProviderConfig): MetaConfig | null {
  const parsed = parseMetaConfig(config)
  return parsed.ok ? parsed.config : null
}

/**
 * Plain facts kept in the provider's `extra_data`: the verify token's hash, so the GET handshake finds it
 * without decrypting, and the WABA id (`account_id`), which names the provider in template webhooks.
 */
export function metaExtraData(config: ProviderConfig): Record<string, unknown> {
  return {
    verify_token_hash: createHash('sha256').update(config.verify_token ?? '', 'utf8').digest('hex'),
    account_id: config.business_id ?? null,
  }
}
