/**
 * Conversations, their messages, sending and handover in the reference (api/conversations.ts). A
 * message is checked twice by the routes: the body's schema, then the outbound message model
 * (core/outbound.ts), which the reference shows as `OutboundMessage`.
 */
import { checkOutbound, outboundMessageSchema } from '../../core/outbound.js'
import { channelSendSchema, conversationSendSchema, handoverSchema, teamConversationsQuery } from '../conversations.js'
import { conversationExample, IDS, inboundMessageExample, outboundMessageExample, pageOf } from './examples.js'
import { describeField, idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Conversations and messages'
const conversationId = idParams('conversation', IDS.conversation)

const outboundMessage = outboundMessageSchema.meta({
  id: 'OutboundMessage',
  description: 'One message to send, by `type`; docs/messages.md shows each with its limits. A message that breaks one is refused whole, naming the place (`message.buttons[3].title`).',
})

const MESSAGE_FIELD = {
  description: 'The message: any `OutboundMessage`.',
  $ref: '#/components/schemas/OutboundMessage',
}
describeField(channelSendSchema.shape.message.unwrap(), MESSAGE_FIELD)
describeField(conversationSendSchema.shape.message, MESSAGE_FIELD)

/** The route's second check: the message model (after `text` became a text message). */
function checkMessage(message: unknown): void {
  const checked = checkOutbound(message, 'message')
  if (!checked.ok) throw new Error(`"${checked.path}" ${checked.problem}`)
}

/** `POST /api/channels/{id}/messages` takes exactly one of `text` and `message`. */
function checkChannelSend(body: { text?: string; message?: unknown }): void {
  if ((body.text === undefined) === (body.message === undefined)) throw new Error('send exactly one of "message" and "text"')
  checkMessage(body.text !== undefined ? { type: 'text', text: body.text } : body.message)
}

const queued = {
  status: 202 as const,
  description: 'Queued: the message as stored (`status: "queued"`), and `part_ids`, every part\'s id when a long text was split. Its status moves on as the provider reports (`sent`, `delivered`, `read` or `failed`).',
}

export const conversationDocs: DocumentedGroup = {
  schemas: [outboundMessage],
  operations: [
    {
      method: 'get',
      path: '/api/conversations',
      tag: TAG,
      summary: "List the team's conversations",
      description: 'Newest first; `?handled_by=human` lists those a person is answering.',
      query: pageQuery.extend(teamConversationsQuery.shape),
      success: { status: 200, description: 'A page of conversations.', example: pageOf(conversationExample) },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/channels/{id}/conversations',
      tag: TAG,
      summary: "List a channel's conversations",
      params: idParams('channel', IDS.channel),
      query: pageQuery,
      success: { status: 200, description: 'A page of conversations.', example: pageOf(conversationExample) },
      errors: [400, 404, 422],
    },
    {
      method: 'get',
      path: '/api/conversations/{id}/messages',
      tag: TAG,
      summary: "List a conversation's messages",
      description: 'Oldest first, inbound and outbound, with their status and, for inbound ones, the normalised fields (`media` with a signed URL, `reply`, `location`, `contacts`, `reaction`, `context`, `transcript`).',
      params: conversationId,
      query: pageQuery,
      success: { status: 200, description: 'A page of messages.', example: pageOf(inboundMessageExample) },
      errors: [400, 404, 422],
    },
    {
      method: 'post',
      path: '/api/channels/{id}/messages',
      tag: TAG,
      summary: 'Send a message to a number',
      description:
        'To a number (or a BSUID) on the channel, with `text` (a text message) or `message` (any type). Outside the 24-hour window only a template goes out (or a text as the channel\'s out-of-window template); a participant who opted out gets nothing (409).',
      params: idParams('channel', IDS.channel),
      body: {
        schema: channelSendSchema,
        examples: {
          text: { summary: 'A text', value: { to: '+27821234567', text: 'Your order has shipped.' } },
          buttons: {
            summary: 'Reply buttons',
            value: {
              to: '+27821234567',
              message: {
                type: 'buttons',
                text: 'Did your parcel arrive?',
                buttons: [
                  { id: 'arrived', title: 'Yes' },
                  { id: 'missing', title: 'Not yet' },
                ],
              },
            },
          },
          template: { summary: 'A template (window closed)', value: { to: '+27821234567', message: { type: 'template', name: 'order_update', language: 'en', params: ['Thandi', '1042'] } } },
        },
        check: checkChannelSend,
      },
      success: { ...queued, example: { ...outboundMessageExample, part_ids: [IDS.message] } },
      errors: [400, 404, 409, 422],
    },
    {
      method: 'post',
      path: '/api/conversations/{id}/messages',
      tag: TAG,
      summary: 'Answer in a conversation',
      description: 'An agent\'s message (`author: "agent"`). On a conversation handed to a person, it also moves `handover_expires_at` forward.',
      params: conversationId,
      body: {
        schema: conversationSendSchema,
        examples: {
          text: { summary: 'A text', value: { message: { type: 'text', text: 'Hi Thandi, I am looking into it now.' } } },
          document: { summary: 'An uploaded file (POST /api/media)', value: { message: { type: 'document', media_id: IDS.media, filename: 'invoice-1042.pdf', caption: 'Your invoice' } } },
        },
        check: (body: { message: unknown }) => checkMessage(body.message),
      },
      success: { ...queued, example: { ...outboundMessageExample, author: 'agent', part_ids: [IDS.message] } },
      errors: [400, 404, 409, 422],
    },
    {
      method: 'delete',
      path: '/api/conversations/{id}',
      tag: TAG,
      summary: 'Erase a conversation',
      description:
        'Erases the conversation, its messages, the media they own (an inbound message\'s fetched media, a voice note the bot made; the rows, then the bytes in the media store) and its queued jobs and event deliveries. Files uploaded with `POST /api/media` are the team\'s and stay. Sends no events. A later message from the participant starts a new conversation.',
      params: conversationId,
      success: { status: 204, description: 'Erased.' },
      errors: [404],
    },
    {
      method: 'post',
      path: '/api/conversations/{id}/handover',
      tag: TAG,
      summary: 'Hand a conversation to a person, or back to the bot',
      description:
        'While `handled_by` is `human` the bot gets none of its messages (they are stored and shown); answer with `POST /api/conversations/{id}/messages`. The channel\'s `handover_timeout_minutes` gives it back to the bot by itself. Emits `conversation.handover`.',
      params: conversationId,
      body: {
        schema: handoverSchema,
        examples: { human: { summary: 'To a person', value: { to: 'human' } }, bot: { summary: 'Back to the bot', value: { to: 'bot' } } },
      },
      success: {
        status: 200,
        description: 'The conversation.',
        example: { ...conversationExample, handled_by: 'human', handed_over_at: '2026-03-02T10:41:00.000Z', handover_expires_at: '2026-03-02T11:41:00.000Z' },
      },
      errors: [400, 404, 422],
    },
  ],
}
