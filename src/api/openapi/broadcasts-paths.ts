/**
 * Broadcasts in the reference (api/broadcasts.ts). The route reads its JSON body by hand (each of up
 * to 100,000 recipients named by its index), so the body's schema is written here for the reference,
 * and each example is also read by the route's own reader, `readJsonRequest`.
 */
import { z } from 'zod'
import { checkOutbound } from '../../core/outbound.js'
import { RECIPIENT_STATUSES } from '../../store/repos/broadcasts.js'
import { BROADCAST_MAX_RECIPIENTS, readJsonRequest } from '../broadcasts.js'
import { NAME_MAX } from '../validation.js'
import { broadcastExample, IDS, pageOf, recipientExample } from './examples.js'
import { idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Broadcasts'
const broadcastId = idParams('broadcast', IDS.broadcast)

const paramText = z.string().max(1024)

const broadcastBody = z.strictObject({
  name: z.string().trim().min(1).max(NAME_MAX).meta({ description: 'Yours, to find it again.' }),
  message: z.unknown().meta({
    description: 'A `template` `OutboundMessage`: the template every recipient gets; its `params` apply to each recipient without their own.',
    $ref: '#/components/schemas/OutboundMessage',
  }),
  recipients: z
    .array(
      z.strictObject({
        to: z.string().max(300).meta({ description: 'A number in international form, or a BSUID.' }),
        params: z
          .union([z.array(paramText), z.record(z.string().regex(/^[a-z0-9_]{1,40}$/), paramText)])
          .nullable()
          .optional()
          .meta({ description: 'This recipient\'s parameters: a list for `{{1}}`… templates, an object for named ones; over the message\'s own.' }),
      }),
    )
    .min(1)
    .max(BROADCAST_MAX_RECIPIENTS),
})

/** What the route does with the body after reading it: the message must be a template. */
function checkBroadcast(body: unknown): void {
  const request = readJsonRequest(body)
  const checked = checkOutbound(request.message, 'message')
  if (!checked.ok) throw new Error(`"${checked.path}" ${checked.problem}`)
  if (checked.message.type !== 'template') throw new Error('"message.type" must be "template"')
}

const CSV_EXAMPLE = 'to,1,2\n+27821234567,Thandi,1042\n+27831112222,Sipho,1043\n'

export const broadcastDocs: DocumentedGroup = {
  operations: [
    {
      method: 'post',
      path: '/api/channels/{id}/broadcasts',
      tag: TAG,
      summary: 'Start a broadcast',
      description: [
        'One approved template to up to 100,000 recipients of the channel, sent at the channel\'s rate. Every recipient is stored before the answer, each one that cannot be sent `skipped` with its reason (`invalid_number`, `duplicate`, `opted_out`, `params_mismatch`); the template is checked against the provider\'s synced list.',
        'As JSON (below), or as `text/csv`: a header row with `to` and one column per parameter (`1`, `2`… or names), with `?name=&template=&language=` in the query.',
        'An `Idempotency-Key` header makes a repeated request answer (200) the broadcast the first one started.',
      ].join('\n\n'),
      params: idParams('channel', IDS.channel),
      query: z.object({
        name: z.string().optional().meta({ description: '`text/csv` only: the broadcast\'s name.' }),
        template: z.string().optional().meta({ description: '`text/csv` only: the template\'s name.' }),
        language: z.string().optional().meta({ description: '`text/csv` only: the template\'s language (default: the provider\'s).' }),
      }),
      headers: z.object({ 'Idempotency-Key': z.string().max(200).optional().meta({ description: 'Any 1 to 200 printable characters; the same key answers the same broadcast.' }) }),
      body: {
        schema: broadcastBody,
        examples: {
          positional: {
            summary: 'A positional template, each recipient with their own values',
            value: {
              name: 'March shipping notice',
              message: { type: 'template', name: 'order_update', language: 'en' },
              recipients: [
                { to: '+27821234567', params: ['Thandi', '1042'] },
                { to: '+27831112222', params: ['Sipho', '1043'] },
              ],
            },
          },
          shared: {
            summary: 'The same values for everyone',
            value: { name: 'Holiday hours', message: { type: 'template', name: 'holiday_hours', language: 'en', params: ['Monday'] }, recipients: [{ to: '+27821234567' }, { to: '+27831112222' }] },
          },
        },
        check: checkBroadcast,
      },
      otherContent: { 'text/csv': { schema: { type: 'string' }, example: CSV_EXAMPLE } },
      success: { status: 202, description: 'Started: the broadcast with its counts (skipped recipients already counted).', example: broadcastExample },
      otherResponses: { 200: { description: 'The broadcast an earlier request with the same `Idempotency-Key` started, as it is now.', example: broadcastExample } },
      errors: [400, 404, 409, 413, 415, 422],
    },
    {
      method: 'get',
      path: '/api/channels/{id}/broadcasts',
      tag: TAG,
      summary: "List a channel's broadcasts",
      params: idParams('channel', IDS.channel),
      query: pageQuery,
      success: { status: 200, description: 'A page of broadcasts with their counts.', example: pageOf(broadcastExample) },
      errors: [400, 404, 422],
    },
    {
      method: 'get',
      path: '/api/broadcasts/{id}',
      tag: TAG,
      summary: 'Get a broadcast',
      description: 'Its counts by status (adding up to `total`) and its failures grouped by the provider\'s error, most frequent first.',
      params: broadcastId,
      success: { status: 200, description: 'The broadcast.', example: broadcastExample },
      errors: [404],
    },
    {
      method: 'get',
      path: '/api/broadcasts/{id}/recipients',
      tag: TAG,
      summary: "List a broadcast's recipients",
      description: 'In the order of the request, each with its status, its message and why it was skipped or failed.',
      params: broadcastId,
      query: pageQuery.extend({ status: z.enum(RECIPIENT_STATUSES).optional().meta({ description: 'Only recipients with this status.' }) }),
      success: { status: 200, description: 'A page of recipients.', example: pageOf(recipientExample) },
      errors: [400, 404, 422],
    },
    {
      method: 'post',
      path: '/api/broadcasts/{id}/cancel',
      tag: TAG,
      summary: 'Cancel a broadcast',
      description: 'Recipients not sent yet are `cancelled`; messages already with the provider go on. No body.',
      params: broadcastId,
      success: { status: 200, description: 'The broadcast.', example: { ...broadcastExample, status: 'cancelled', finished_at: '2026-03-02T10:45:00.000Z' } },
      errors: [404],
    },
  ],
}
