/** Channels in the reference (api/channels.ts): one WhatsApp number of a provider, answered by one bot. */
import { createChannelSchema, patchChannelSchema } from '../channels.js'
import { channelExample, IDS, pageOf } from './examples.js'
import { idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Channels'
const channelId = idParams('channel', IDS.channel)

export const channelDocs: DocumentedGroup = {
  operations: [
    {
      method: 'post',
      path: '/api/channels',
      tag: TAG,
      summary: 'Connect a number',
      description:
        'Checks, in order: the bot and provider (of your team), the number\'s form (any international writing: `+27 81 234 5678`), that no channel has it where it must be unique (a Meta or Twilio number, whose webhooks are routed by number, in the whole gateway; a Turn.io number, routed by its channel\'s own URL, in your team; and a team never connects a number twice), and that the provider has it (Meta and Twilio are asked; Turn.io is taken as given). The answer\'s `webhook_url` is what to paste at the provider.',
      body: {
        schema: createChannelSchema,
        examples: {
          channel: { summary: 'A number of a Meta account', value: { bot_id: IDS.bot, provider_id: IDS.provider, number: '+27 81 234 5678', name: 'Support line' } },
        },
      },
      success: { status: 201, description: 'The channel.', example: channelExample },
      errors: [400, 404, 409, 422, 502],
    },
    {
      method: 'get',
      path: '/api/channels',
      tag: TAG,
      summary: 'List channels',
      query: pageQuery,
      success: { status: 200, description: 'A page of channels.', example: pageOf(channelExample) },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/channels/{id}',
      tag: TAG,
      summary: 'Get a channel',
      params: channelId,
      success: { status: 200, description: 'The channel.', example: channelExample },
      errors: [404],
    },
    {
      method: 'patch',
      path: '/api/channels/{id}',
      tag: TAG,
      summary: 'Change a channel',
      description:
        'Only the fields sent change; `null` puts a setting back to its default. The number and provider cannot change (sending the current ones is accepted). `handover_timeout_minutes` gives a conversation a person took over back to the bot that long after the handover or their last message; `retention_days` (1–3650) erases messages older than that, with their media, in a daily sweep.',
      params: channelId,
      body: {
        schema: patchChannelSchema,
        examples: {
          disable: { summary: 'Pause the bot with an auto-reply', value: { enabled: false, disabled_message: 'We are closed until Monday 08:00.' } },
          bot: { summary: 'Answer with another bot', value: { bot_id: IDS.bot } },
          retention: { summary: 'Keep messages and their media 90 days', value: { retention_days: 90 } },
          settings: {
            summary: 'Out-of-window template, opt-out words and handover timeout',
            value: {
              out_of_window_template: { name: 'follow_up', language: 'en' },
              opt_out_keywords: ['STOP', 'STOPP'],
              opt_out_reply: 'You will get no more messages. Send START to opt back in.',
              handover_timeout_minutes: 60,
              throughput_mps: 20,
            },
          },
        },
      },
      success: { status: 200, description: 'The channel.', example: channelExample },
      errors: [400, 404, 422],
    },
    {
      method: 'delete',
      path: '/api/channels/{id}',
      tag: TAG,
      summary: 'Delete a channel',
      params: channelId,
      success: { status: 204, description: 'Deleted.' },
      errors: [404],
    },
  ],
}
