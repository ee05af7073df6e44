/**
 * Row types of every table, as Kysely sees them. They stay inside `store/`: repos map them to `core/`
 * types. Timestamps are ISO-8601 UTC text and booleans are 0/1 integers, so one schema reads the same on
 * SQLite and PostgreSQL; JSON columns are text, parsed by the repos.
 */
import type { Generated } from 'kysely'

export interface TeamsTable {
  id: string
  name: string
  created_at: string
}

export interface ApiTokensTable {
  id: string
  team_id: string
  name: string
  role: 'admin' | 'member'
  /** sha256 hex of the token; the token itself is never stored. */
  token_hash: string
  created_at: string
  revoked_at: string | null
}

export interface ProvidersTable {
  id: string
  team_id: string
  type: 'meta_cloud_api' | 'twilio' | 'turnio'
  name: string
  /** The whole config object, encrypted (see core/secret-box.ts). */
  config_ciphertext: string
  /** Plain JSON: `verify_token_hash` for Meta, and other non-secret facts. */
  extra_data: string
  /** Copy of `extra_data.verify_token_hash`, as a plain column so it can be indexed on both dialects. */
  verify_token_hash: string | null
  health: string
  health_detail: string | null
  health_seen_at: string | null
  /** Bumped on every config change; a send held for an invalid token waits for a newer version. */
  config_version: number
  /** The account at the provider (Meta's WABA id): routes template webhooks without decrypting. */
  account_id: string | null
  /** When a signed webhook for it last verified (written at most once a minute). */
  last_webhook_at: string | null
  /** When a send through it last succeeded (written at most once a minute). */
  last_send_ok_at: string | null
  /** The last credential check: `ok`, `refused` or `unreachable`, its sentence and time; null before any. */
  last_check_status: string | null
  last_check_message: string | null
  last_check_at: string | null
  /**
   * JSON `{count, last_at, last_source, sources: [{address, count, last_at}]}`: webhooks whose signature
   * failed, and where they came from; null before any (migration 0008).
   */
  signature_failures: string | null
  created_at: string
  updated_at: string
}

export interface BotsTable {
  id: string
  team_id: string
  name: string
  type: 'echo' | 'http' | 'llm'
  /** Encrypted config JSON (the http bot's secret lives here), or null for bots without config. */
  config_ciphertext: string | null
  /** What the bot's last call showed: null or `ok`, `unreachable`, `auth_failed`, `quota_exhausted`, `bad_response`. */
  health: string | null
  health_detail: string | null
  health_seen_at: string | null
  created_at: string
  updated_at: string
}

export interface ChannelsTable {
  id: string
  team_id: string
  bot_id: string
  provider_id: string
  /** Copied from the provider so webhook routing needs one index lookup. */
  provider_type: string
  platform: string
  /** E.164; unique within `number_scope`, and once per team. */
  number: string
  name: string
  extra_data: string
  from_identifier: string
  enabled: number
  disabled_message: string | null
  /** Sends per second for this number; null means the provider's default. */
  throughput_mps: number | null
  last_webhook_at: string | null
  /** Read receipt + typing indicator when the bot starts (1/0); null = on where the provider has it. */
  typing_indicator: number | null
  /** JSON of the channel's messaging settings (out-of-window template, opt-out), or null for defaults. */
  settings: string | null
  /**
   * Where `number` is unique (the provider kind's `numberScope`): `''` across the gateway (webhooks
   * routed by number), or the team's id (each channel routed by its own URL). Default `''`, the strict one.
   */
  number_scope: Generated<string>
  created_at: string
  updated_at: string
}

export interface ConversationsTable {
  id: string
  team_id: string
  channel_id: string
  /** BSUID when known, else the phone: what identifies the participant on this channel. */
  participant_key: string
  participant_id: string
  participant_phone: string | null
  participant_bsuid: string | null
  participant_name: string | null
  last_inbound_at: string | null
  /** When the provider said the window is closed (131047, 63016); a later inbound message reopens it. */
  window_closed_at: string | null
  opted_out_at: string | null
  /** The message that last reset the conversation for its bot; the bot's history starts after it. */
  history_since: string | null
  /** `bot`, or `human` while a person answers (SPEC §12.2): inbound messages then skip the bot. */
  handled_by: Generated<string>
  handed_over_at: string | null
  /** When a `human` conversation goes back to the bot (the channel's `handover_timeout_minutes`); null = never. */
  handover_expires_at: string | null
  created_at: string
  updated_at: string
}

export interface MessagesTable {
  id: string
  team_id: string
  channel_id: string
  conversation_id: string
  direction: 'in' | 'out'
  type: string
  text: string | null
  /** Provider-neutral JSON detail of the message (media ids, location, button payloads…). */
  payload: string
  status: string
  provider_message_id: string | null
  error_code: string | null
  error_message: string | null
  /** For outbound: the inbound message this replies to, if any. */
  reply_to_id: string | null
  /** For outbound: set just before the provider call, so a crash leaves a visible "in doubt" mark. */
  send_started_at: string | null
  /** For outbound: who wrote it, `bot`, `agent`, `api`, `broadcast` or `gateway` (core/message.ts `MessageAuthor`). */
  author: string | null
  created_at: string
  updated_at: string
}

export interface JobsTable {
  id: string
  task: string
  payload: string
  /** Jobs sharing a lane run one at a time, in id order (one lane per conversation). */
  lane: string | null
  /** Optional dedupe key: a second job with the same key is not created. */
  key: string | null
  state: 'pending' | 'running' | 'dead'
  run_at: string
  attempts: number
  max_attempts: number
  last_error: string | null
  locked_by: string | null
  locked_until: string | null
  /** The runner that claims it: `main` (the message flow) or `events` (event deliveries). */
  queue: Generated<string>
  /** The team whose work it is (`''` for none): claims serve teams in turn (SPEC §13). */
  team_id: Generated<string>
  created_at: string
  updated_at: string
}

/** A team's event webhook subscription (SPEC §12.1). */
export interface EventWebhooksTable {
  id: string
  team_id: string
  url: string
  /** JSON array of the event types it receives. */
  events: string
  /** The signing secret, encrypted (core/secret-box.ts). */
  secret_ciphertext: string
  enabled: number
  description: string | null
  created_at: string
  updated_at: string
}

/** One attempt to deliver an event to a subscription. */
export interface EventDeliveriesTable {
  id: string
  webhook_id: string
  event_id: string
  event_type: string
  attempt: number
  /** The receiver's HTTP status; null when no answer came (network error, timeout). */
  status_code: number | null
  duration_ms: number
  error: string | null
  created_at: string
}

export interface MediaTable {
  id: string
  team_id: string
  mime_type: string
  size: number
  /** Hex sha256 of the bytes. */
  sha256: string
  filename: string | null
  /** Where the bytes are in the media store. */
  storage_key: string
  source: 'inbound' | 'upload' | 'speech'
  /** JSON `{ [providerId]: { id, uploaded_at } }`: uploads of these bytes to providers. */
  provider_uploads: string
  created_at: string
}

export interface TemplatesTable {
  id: string
  team_id: string
  provider_id: string
  name: string
  language: string
  status: string
  category: string | null
  parameter_format: string
  /** JSON array of parameter names (`"1"`, `"2"`… for positional). */
  params: string
  /** JSON components (Meta) or content types (Twilio), as the provider gave them. */
  components: string
  provider_template_id: string | null
  synced_at: string
  updated_at: string
}

export interface BroadcastsTable {
  id: string
  team_id: string
  channel_id: string
  name: string
  /** JSON template message. */
  message: string
  status: 'running' | 'finished' | 'cancelled'
  idempotency_key: string | null
  total: number
  created_at: string
  updated_at: string
  finished_at: string | null
}

export interface BroadcastRecipientsTable {
  broadcast_id: string
  position: number
  recipient: string
  phone: string | null
  bsuid: string | null
  params: string | null
  state: 'pending' | 'queued' | 'skipped' | 'cancelled'
  reason: string | null
  message_id: string | null
  updated_at: string
}

export interface Database {
  teams: TeamsTable
  api_tokens: ApiTokensTable
  providers: ProvidersTable
  bots: BotsTable
  channels: ChannelsTable
  conversations: ConversationsTable
  messages: MessagesTable
  jobs: JobsTable
  event_webhooks: EventWebhooksTable
  event_deliveries: EventDeliveriesTable
  media: MediaTable
  templates: TemplatesTable
  broadcasts: BroadcastsTable
  broadcast_recipients: BroadcastRecipientsTable
}

// Generated is re-exported for repos that insert into tables with defaults later.
export type { Generated }
