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

/**
 * A credential check of a provider (at creation, or `POST /api/providers/{id}/test`): `ok` with a sentence
 * of evidence (`WABA 1234 "Acme" is readable with this token.`), `refused` with the provider's own words,
 * or `unreachable` (it could not be asked). Never a secret.
 */
export interface CredentialCheckDto {
  status: 'ok' | 'refused' | 'unreachable'
  message: string
  checked_at: string
}

/**
 * Webhooks whose signature failed (anyone who knows a number can post one): how many, the last one's
 * time and address, and the most recent addresses (up to 10, newest first). They set `health.status`
 * only while no signed webhook verified in the last 30 minutes, and never over `token_invalid`.
 */
export interface SignatureFailuresDto {
  count: number
  last_at: string
  last_source: string
  sources: Array<{ address: string; count: number; last_at: string }>
}

/** A provider; secret config values are masked (`EAAB…Zq`). */
export interface ProviderDto {
  id: string
  type: 'meta_cloud_api' | 'twilio' | 'turnio'
  name: string
  config: Record<string, string>
  extra_data: Record<string, unknown>
  /**
   * What went wrong (`status`: `ok`, `token_invalid`, `signature_failures`, `unsigned_webhooks`), and
   * `evidence` of what worked: when a signed webhook last verified, when a send last succeeded (each kept
   * to within a minute), and the last credential check (null before any, or since the config changed);
   * and of webhooks whose signature failed, with their addresses (`signature_failures`, null before any).
   */
  health: {
    status: string
    message: string | null
    last_seen_at: string | null
    evidence: {
      last_webhook_at: string | null
      last_send_ok_at: string | null
      last_check: CredentialCheckDto | null
      signature_failures: SignatureFailuresDto | null
    }
  }
  /** One URL for all of this provider's channels, or null when each channel has its own. */
  webhook_url: string | null
  created_at: string
  updated_at: string
}

/** A bot; secrets (the `http` bot's secret, the `llm` bot's api keys) are masked. */
export interface BotDto {
  id: string
  name: string
  type: 'echo' | 'http' | 'llm'
  /** Flat strings for `http`; an `llm` bot's has numbers, booleans and nested `transcription` / `speech`. */
  config: Record<string, unknown>
  /** What the bot's last call showed: `ok`, `unreachable`, `auth_failed`, `quota_exhausted`, `bad_response`. */
  health: { status: string; message: string | null; last_seen_at: string | null }
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
  /**
   * Why the provider cannot call `webhook_url` (it is `http://`, or a loopback or private address), as a
   * sentence saying what to set; null when it is an https address on the internet.
   */
  webhook_url_problem: string | null
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
  /** Minutes after a handover (or an agent's last message) when a conversation goes back to the bot; null = never. */
  handover_timeout_minutes: number | null
  /** Days messages and their media are kept before a daily sweep erases them; null = kept for ever. */
  retention_days: number | null
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
  /**
   * Who wrote it: `participant` (inbound); outbound `bot` (its replies), `agent` (a person, through
   * `POST /api/conversations/{id}/messages`), `api` (`POST /api/channels/{id}/messages`), `broadcast`,
   * or `gateway` (its own answers: opt-out replies, a disabled channel's message).
   */
  author: 'participant' | 'bot' | 'agent' | 'api' | 'broadcast' | 'gateway'
  created_at: string
  updated_at: string
  message?: OutboundMessage
}

/** A conversation: one participant on one channel, with their service window and opt-out. */
export interface ConversationDto {
  id: string
  channel_id: string
  participant: { id: string; phone: string | null; bsuid: string | null; name: string | null }
  last_inbound_at: string | null
  /** When the 24-hour window closes (or closed: compare with now); null when the participant never wrote. */
  service_window_expires_at: string | null
  /** When the participant opted out of this channel (an opt-out keyword), or null. */
  opted_out_at: string | null
  /** `human` while a person answers (inbound messages are then not sent to the bot), else `bot`. */
  handled_by: 'bot' | 'human'
  /** When the conversation was last handed to a person, or null. */
  handed_over_at: string | null
  /** When a `human` conversation goes back to the bot (the channel's `handover_timeout_minutes`); null = never. */
  handover_expires_at: string | null
  created_at: string
}

/** A provider's message template, as last synced from it. */
export interface TemplateDto {
  name: string
  /** `en_US` form. */
  language: string
  /** The provider's words, upper case: `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`… Only approved ones send. */
  status: string
  category: string | null
  parameter_format: 'POSITIONAL' | 'NAMED'
  /** What a send must give: `["1","2"]` (positional) or names. */
  params: string[]
  /** The provider's own description (Meta's components), for display. */
  components: unknown
}

/** A broadcast: one template to many recipients of a channel. */
export interface BroadcastDto {
  id: string
  name: string
  channel_id: string
  status: 'running' | 'finished' | 'cancelled'
  /** The template message every recipient gets (with their own params). */
  message: Record<string, unknown>
  /** `queued` includes recipients not dispatched yet; the counts add up to `total`. */
  counts: { total: number; queued: number; sent: number; delivered: number; read: number; failed: number; skipped: number; cancelled: number }
  /** Failed messages grouped by the provider's error code, most frequent first. */
  errors: Array<{ code: string; message: string; count: number }>
  created_at: string
  finished_at: string | null
}

/** One recipient of a broadcast. */
export interface BroadcastRecipientDto {
  /** 0-based place in the request. */
  position: number
  /** As given in the request. */
  to: string
  status: string
  /** Why it was skipped: `invalid_number`, `duplicate`, `opted_out`, `params_mismatch`. */
  reason: string | null
  message_id: string | null
  error: { code: string; message: string } | null
}

/** An event webhook: a subscription of the team's systems to its events. */
export interface WebhookDto {
  id: string
  /** The http(s) URL each event is POSTed to. */
  url: string
  /** The event types it receives (`message.received`, `conversation.handover`…). */
  events: string[]
  enabled: boolean
  description: string | null
  /** The signing secret: in full only in the answer to its creation, masked (`whse…x9`) everywhere else. */
  secret: string
  created_at: string
  updated_at: string
}

/** One attempt to deliver an event to a webhook. */
export interface WebhookDeliveryDto {
  id: string
  event_id: string
  event_type: string
  /** 1 for the first attempt. */
  attempt: number
  /** The receiver's HTTP status; null when no answer came (network error, timeout). */
  status_code: number | null
  duration_ms: number
  error: string | null
  created_at: string
}
