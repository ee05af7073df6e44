/**
 * The resources the reference shows in its answers, typed with the API's own DTOs so the compiler
 * holds every example to the wire shape. Ids follow core/ids.ts (`<prefix>_<26 base32 characters>`).
 */
import type { BotDto, BroadcastDto, CredentialCheckDto, BroadcastRecipientDto, ChannelDto, ConversationDto, MessageDto, ProviderDto, TeamDto, TokenDto, WebhookDeliveryDto, WebhookDto } from '../dto.js'
import type { DeadJobDto } from '../jobs.js'
import type { MediaDto } from '../media.js'
import type { TemplateDto } from '../templates.js'

export const IDS = {
  team: 'team_01jq3v6k2m8x9c4d7f0g5h1j2k',
  token: 'tok_01jq3v7a4b5c6d7e8f9g0h1j2k3m',
  provider: 'prov_01jq3v8n2p3q4r5s6t7v8w9x0y1z',
  bot: 'bot_01jq3v9b1c2d3e4f5g6h7j8k9m0n',
  channel: 'chan_01jq3va2b3c4d5e6f7g8h9j0k1m2',
  conversation: 'conv_01jq3w2c3d4e5f6g7h8j9k0m1n2p',
  message: 'msg_01jq3w4d5e6f7g8h9j0k1m2n3p4q',
  inbound: 'msg_01jq3w3e4f5g6h7j8k9m0n1p2q3r',
  media: 'med_01jq3w1f2g3h4j5k6m7n8p9q0r1s',
  broadcast: 'bc_01jq3x5g6h7j8k9m0n1p2q3r4s5t',
  webhook: 'whk_01jq3y6h7j8k9m0n1p2q3r4s5t6v',
  delivery: 'dlv_01jq3y7j8k9m0n1p2q3r4s5t6v7w',
  event: 'evt_01jq3y8k9m0n1p2q3r4s5t6v7w8x',
  job: 'job_01jq3z9m0n1p2q3r4s5t6v7w8x9y',
} as const

const CREATED = '2026-03-02T09:15:00.000Z'
const UPDATED = '2026-03-02T10:40:12.000Z'

export const teamExample: TeamDto = { id: IDS.team, name: 'Support', created_at: CREATED }

export const tokenExample: TokenDto = {
  id: IDS.token,
  name: 'CRM integration',
  role: 'member',
  team_id: IDS.team,
  created_at: CREATED,
  revoked_at: null,
}

export const credentialCheckExample: CredentialCheckDto = {
  status: 'ok',
  message: 'WABA 104857600321987 "Example Support" is readable with this token.',
  checked_at: CREATED,
}

export const providerExample: ProviderDto = {
  id: IDS.provider,
  type: 'meta_cloud_api',
  name: 'Meta (main WABA)',
  config: {
    business_id: '104857600321987',
    access_token: 'EAAB…Zq',
    app_secret: 'a1b2…9f',
    verify_token: 'my-v…42',
    template_language_code: 'en',
  },
  extra_data: { account_id: '104857600321987' },
  health: {
    status: 'ok',
    message: null,
    last_seen_at: UPDATED,
    evidence: {
      last_webhook_at: '2026-03-02T10:39:58.000Z',
      last_send_ok_at: UPDATED,
      last_check: credentialCheckExample,
      signature_failures: {
        count: 3,
        last_at: '2026-03-02T09:12:40.000Z',
        last_source: '203.0.113.7',
        sources: [{ address: '203.0.113.7', count: 3, last_at: '2026-03-02T09:12:40.000Z' }],
      },
    },
  },
  webhook_url: 'https://switchboard.example.com/channels/whatsapp/meta/incoming_message',
  created_at: CREATED,
  updated_at: UPDATED,
}

export const botExample: BotDto = {
  id: IDS.bot,
  name: 'Support bot',
  type: 'http',
  config: { url: 'https://bots.example.com/whatsapp', secret: 'b0t-…c9' },
  health: { status: 'ok', message: null, last_seen_at: UPDATED },
  created_at: CREATED,
  updated_at: UPDATED,
}

export const channelExample: ChannelDto = {
  id: IDS.channel,
  name: 'Support line',
  bot_id: IDS.bot,
  provider_id: IDS.provider,
  platform: 'whatsapp',
  number: '+27812345678',
  extra_data: { phone_number_id: '110200345567890', display_phone_number: '+27 81 234 5678', verified_name: 'Example Support' },
  from_identifier: '110200345567890',
  webhook_url: 'https://switchboard.example.com/channels/whatsapp/meta/incoming_message',
  webhook_url_problem: null,
  enabled: true,
  disabled_message: null,
  throughput_mps: null,
  typing_indicator: true,
  out_of_window_template: null,
  opt_out_keywords: ['STOP', 'UNSUBSCRIBE'],
  opt_in_keywords: ['START'],
  opt_out_reply: null,
  opt_in_reply: null,
  handover_timeout_minutes: null,
  retention_days: null,
  created_at: CREATED,
  updated_at: UPDATED,
}

export const conversationExample: ConversationDto = {
  id: IDS.conversation,
  channel_id: IDS.channel,
  participant: { id: 'pt_01jq3w0a1b2c3d4e5f6g7h8j9k0m', phone: '+27821234567', bsuid: null, name: 'Thandi' },
  last_inbound_at: '2026-03-02T10:39:58.000Z',
  service_window_expires_at: '2026-03-03T10:39:58.000Z',
  opted_out_at: null,
  handled_by: 'bot',
  handed_over_at: null,
  handover_expires_at: null,
  created_at: CREATED,
}

export const inboundMessageExample: MessageDto = {
  media: {
    id: IDS.media,
    url: `https://switchboard.example.com/media/${IDS.media}?expires=1772534400&signature=Zk3q…`,
    mime_type: 'image/jpeg',
    size: 182044,
    sha256: '9f2c5a0e4b7d1c3f8a6e2d0b5c9a7f1e3d5b8c0a2e4f6d8b1c3e5a7f9d0b2c4e',
    filename: null,
    voice: false,
    status: 'stored',
  },
  id: IDS.inbound,
  conversation_id: IDS.conversation,
  direction: 'in',
  type: 'image',
  text: 'Is this the right charger?',
  status: 'processed',
  provider_message_id: 'wamid.HBgLMjc4MjEyMzQ1NjcVAgASGBQzQTc5RjQ2QjlEMEI2QzQxRjQ2RgA=',
  error: null,
  reply_to_id: null,
  author: 'participant',
  created_at: '2026-03-02T10:39:58.000Z',
  updated_at: '2026-03-02T10:39:59.000Z',
}

export const outboundMessageExample: MessageDto = {
  id: IDS.message,
  conversation_id: IDS.conversation,
  direction: 'out',
  type: 'text',
  text: 'Your order has shipped.',
  status: 'queued',
  provider_message_id: null,
  error: null,
  reply_to_id: null,
  author: 'api',
  created_at: UPDATED,
  updated_at: UPDATED,
}

export const mediaExample: MediaDto = {
  id: IDS.media,
  mime_type: 'application/pdf',
  size: 48213,
  sha256: '3b7e1d9c0a5f2e8b4d6c1a9f7e3b5d0c2a8e6f4b1d9c7a5e3f0b2d4c6a8e1f3b',
  filename: 'invoice-1042.pdf',
  created_at: UPDATED,
}

export const templateExample: TemplateDto = {
  name: 'order_update',
  language: 'en',
  status: 'APPROVED',
  category: 'UTILITY',
  parameter_format: 'POSITIONAL',
  params: ['1', '2'],
  components: [{ type: 'BODY', text: 'Hi {{1}}, your order {{2}} has shipped.' }],
}

export const broadcastExample: BroadcastDto = {
  id: IDS.broadcast,
  name: 'March shipping notice',
  channel_id: IDS.channel,
  status: 'running',
  message: { type: 'template', name: 'order_update', language: 'en', params: ['there', 'your order'] },
  counts: { total: 3, queued: 2, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 1, cancelled: 0 },
  errors: [],
  created_at: UPDATED,
  finished_at: null,
}

export const recipientExample: BroadcastRecipientDto = {
  position: 0,
  to: '+27821234567',
  status: 'sent',
  reason: null,
  message_id: IDS.message,
  error: null,
}

export const webhookExample: WebhookDto = {
  id: IDS.webhook,
  url: 'https://crm.example.com/switchboard/events',
  events: ['message.received', 'conversation.handover'],
  enabled: true,
  description: 'CRM inbox',
  secret: 'whse…x9',
  created_at: CREATED,
  updated_at: UPDATED,
}

export const deliveryExample: WebhookDeliveryDto = {
  id: IDS.delivery,
  event_id: IDS.event,
  event_type: 'message.received',
  attempt: 1,
  status_code: 200,
  duration_ms: 84,
  error: null,
  created_at: UPDATED,
}

export const deadJobExample: DeadJobDto = {
  id: IDS.job,
  task: 'outbound.send',
  attempts: 10,
  max_attempts: 10,
  last_error: '(#131026) Message undeliverable: the number is not on WhatsApp.',
  created_at: CREATED,
  died_at: UPDATED,
  message: {
    id: IDS.message,
    conversation_id: IDS.conversation,
    channel_id: IDS.channel,
    direction: 'out',
    text: 'Your order has shipped.',
    status: 'failed',
    error: { code: '131026', message: 'Message undeliverable.' },
  },
  event: null,
}

/** A list answer with one item. */
export function pageOf<T>(item: T): { data: T[]; next_cursor: string | null } {
  return { data: [item], next_cursor: null }
}
