/**
 * A channel's messaging settings: what goes out when the service window is closed, the keywords
 * with which participants opt out and back in, the handover timeout, and how long messages are kept. Stored as one JSON object (`channels.settings`), so a new
 * setting needs no new column; the zod schema validates the API's PATCH and reads stored values.
 */
import { z } from 'zod'
import { isoAt } from './clock.js'

const keyword = z.string().trim().min(1, 'must not be empty').max(40, 'must be at most 40 characters long')
const reply = z.string().trim().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters long')

/** The template a free-form text goes out as when the window is closed: one body parameter takes the text. */
export const outOfWindowTemplateSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(512),
  language: z.string().trim().min(2).max(20).optional(),
  /** The body parameter's name for a NAMED template; absent for a positional `{{1}}`. */
  param: z.string().regex(/^[a-z0-9_]{1,40}$/, 'must be a template parameter name (lower case, digits, _)').optional(),
})

/** The longest `retention_days`: ten years. */
export const RETENTION_DAYS_MAX = 3650

/** The settings a PATCH may set; `null` clears one back to its default. */
export const channelSettingsSchema = z.strictObject({
  out_of_window_template: outOfWindowTemplateSchema.nullable().optional(),
  opt_out_keywords: z.array(keyword).max(20, 'at most 20 keywords').nullable().optional(),
  opt_in_keywords: z.array(keyword).max(20, 'at most 20 keywords').nullable().optional(),
  opt_out_reply: reply.nullable().optional(),
  opt_in_reply: reply.nullable().optional(),
  /** A conversation a person took over goes back to the bot this long after the handover or their last message. */
  handover_timeout_minutes: z.int('must be a whole number of minutes').min(1, 'must be at least 1 minute').max(10_080, 'must be at most 10080 minutes (7 days)').nullable().optional(),
  /** Messages older than this many days are erased, with their media, by a daily sweep; unset keeps them. */
  retention_days: z.int('must be a whole number of days').min(1, 'must be at least 1 day').max(RETENTION_DAYS_MAX, `must be at most ${RETENTION_DAYS_MAX} days (10 years)`).nullable().optional(),
})

export type OutOfWindowTemplate = z.output<typeof outOfWindowTemplateSchema>

/** The settings with their defaults applied, as the gateway acts on them. */
export interface ChannelSettings {
  outOfWindowTemplate: OutOfWindowTemplate | null
  optOutKeywords: string[]
  optInKeywords: string[]
  optOutReply: string | null
  optInReply: string | null
  /** Minutes without an agent message before a `human` conversation goes back to the bot; null = never. */
  handoverTimeoutMinutes: number | null
  /** Days a message (and its media) is kept before the retention sweep erases it; null = kept for ever. */
  retentionDays: number | null
}

export const DEFAULT_OPT_OUT_KEYWORDS = ['STOP', 'UNSUBSCRIBE']
export const DEFAULT_OPT_IN_KEYWORDS = ['START']

/** The settings of a stored JSON text (null or unreadable = the defaults). */
export function readChannelSettings(json: string | null): ChannelSettings {
  let stored: z.output<typeof channelSettingsSchema> = {}
  if (json !== null) {
    const parsed = channelSettingsSchema.safeParse(safeJson(json))
    if (parsed.success) stored = parsed.data
  }
  return {
    outOfWindowTemplate: stored.out_of_window_template ?? null,
    optOutKeywords: stored.opt_out_keywords ?? DEFAULT_OPT_OUT_KEYWORDS,
    optInKeywords: stored.opt_in_keywords ?? DEFAULT_OPT_IN_KEYWORDS,
    optOutReply: stored.opt_out_reply ?? null,
    optInReply: stored.opt_in_reply ?? null,
    handoverTimeoutMinutes: stored.handover_timeout_minutes ?? null,
    retentionDays: stored.retention_days ?? null,
  }
}

/** The settings as the API shows them (snake_case, defaults applied). */
export function channelSettingsView(settings: ChannelSettings): Record<string, unknown> {
  return {
    out_of_window_template: settings.outOfWindowTemplate,
    opt_out_keywords: settings.optOutKeywords,
    opt_in_keywords: settings.optInKeywords,
    opt_out_reply: settings.optOutReply,
    opt_in_reply: settings.optInReply,
    handover_timeout_minutes: settings.handoverTimeoutMinutes,
    retention_days: settings.retentionDays,
  }
}

/** Merges a PATCH into the stored JSON: a value sets, `null` clears to the default, absent keeps. */
export function mergeChannelSettings(json: string | null, patch: z.output<typeof channelSettingsSchema>): string {
  const current = (json === null ? {} : (safeJson(json) as Record<string, unknown> | null)) ?? {}
  const next: Record<string, unknown> = { ...current }
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue
    if (value === null) delete next[key]
    else next[key] = value
  }
  return JSON.stringify(next)
}

/** What a whole text says about opting: `out`, `in`, or null (case- and space-insensitive, whole text only). */
export function optKeyword(text: string | null, settings: ChannelSettings): 'out' | 'in' | null {
  if (text === null) return null
  const trimmed = text.trim()
  if (trimmed === '') return null
  const optOut = settings.optOutKeywords.map((word) => word.toLocaleUpperCase())
  const optIn = settings.optInKeywords.map((word) => word.toLocaleUpperCase())
  // Upper-casing every message's whole text (ICU, locale-aware) cost 0.5 % of the main thread end to end,
  // and a text far longer than every keyword cannot be one. Far: upper-casing changes lengths both ways
  // ('ß' → 'SS'; in some locales a dotted 'i̇' loses its combining dot), never by half.
  const longest = Math.max(0, ...optOut.map((word) => word.length), ...optIn.map((word) => word.length))
  if (trimmed.length > 2 * longest + 8) return null
  const said = trimmed.toLocaleUpperCase()
  if (optOut.includes(said)) return 'out'
  if (optIn.includes(said)) return 'in'
  return null
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** When a conversation handed to a person at `nowMs` (or answered by one) goes back to the bot, or null for never. */
export function handoverExpiry(settings: ChannelSettings, nowMs: number): string | null {
  return settings.handoverTimeoutMinutes === null ? null : isoAt(nowMs + settings.handoverTimeoutMinutes * 60_000)
}
