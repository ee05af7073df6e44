/**
 * The admin API's response shapes (SPEC §4), as the wire spells them (snake_case). Type-only, so the
 * console may import it without pulling in server code.
 */
import type { MessageFieldsView } from '../core/message-view.js'
import type { OutboundMessage } from '../core/outbound.js'

/** `{"error": {...}}`: every error response. */
export interface ErrorDto {
  error: { code: string; message: string; field?: string }
}

/** A team. */
export interface TeamDto {
  id: string
  name: string
  created_at: string
}

/** An API token's record; `token` is present only in the response that created it. */
export interface TokenDto {
  id: string
  name: string
  role: 'admin' | 'member'
  team_id: string
  created_at: string
  revoked_at: string | null
  token?: string
}

/** A provider; secret config values are masked (`EAAB…Zq`). */
export interface ProviderDto {
  id: string
  type: 'meta_cloud_api' | 'twilio' | 'turnio'
  name: string
  config: Record<string, string>
  extra_data: Record<string, unknown>
  health: { status: string; message: string | null; last_seen_at: string | null }
  /** One URL for all of this provider's channels, or null when each channel has its own. */
  webhook_url: string | null
  created_at: string
  updated_at: string
}

/** A bot; the `http` bot's secret is masked. */
export interface BotDto {
  id: string
  name: string
  type: 'echo' | 'http'
  config: Record<string, string>
  created_at: string
  updated_at: string
}

/** A channel: one number connected to one bot. */
export interface ChannelDto {
  id: string
  name: string
  bot_id: string
  provider_id: string
  platform: string
  number: string
  extra_data: Record<string, unknown>
  from_identifier: string
  webhook_url: string
  enabled: boolean
  disabled_message: string | null
  /** Sends per second for this number (our extension, SPEC §6); null = the provider's default. */
  throughput_mps: number | null
  /** Read receipt + typing indicator when the bot starts (Meta); false where the provider has none. */
  typing_indicator: boolean
  /** A free-form text to a closed window goes out as this template (one body parameter), or null. */
  out_of_window_template: { name: string; language?: string | undefined; param?: string | undefined } | null
  /** Whole messages (any case) that opt a participant out, and back in. */
  opt_out_keywords: string[]
  opt_in_keywords: string[]
  opt_out_reply: string | null
  opt_in_reply: string | null
  created_at: string
  updated_at: string
}

/** Every list answers with this envelope. */
export interface ListDto<T> {
  data: T[]
  next_cursor: string | null
}

/**
 * A message of a conversation; the normalised fields (media, reply, location, contacts, reaction, context,
 * transcript) appear when the message has them, and an outbound message of a type other than text
 * carries `message`, the outbound message as sent.
 */
export interface MessageDto extends MessageFieldsView {
  id: string
  conversation_id: string
  direction: 'in' | 'out'
  type: string
  text: string | null
  status: string
  provider_message_id: string | null
  error: { code: string; message: string } | null
  reply_to_id: string | null
  created_at: string
  updated_at: string
  message?: OutboundMessage
}
