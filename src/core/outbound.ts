/**
 * The one outbound message model: everything the gateway sends, whoever starts it (an http bot's
 * `replies`, `POST /api/channels/{id}/messages`, `POST /api/conversations/{id}/messages`). The shape is
 * the public JSON (snake_case, as bots and API clients write it) and is stored as such in the message's
 * payload; providers turn it into their wire shape in `providers/<x>/<x>-send.ts`.
 *
 * The limits are WhatsApp's (Meta's interactive reply buttons, list and CTA pages); a message that breaks
 * one is refused whole, and the error names the exact place (`replies[1].buttons[3]`), taken from the
 * schema's own issue paths, never from hand-written checks.
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-list-messages
 */
import { z } from 'zod'
import { splitText } from './text-split.js'

/** Longest text accepted for a `text` message; the sender splits it to the provider's limit. */
export const OUTBOUND_TEXT_MAX = 65_536

const nonEmpty = (max: number, what = 'characters') =>
  z.string({ error: 'must be text' }).min(1, 'must not be empty').max(max, `must be at most ${max} ${what} long`)

const httpUrl = z
  .string({ error: 'must be text' })
  .max(2048, 'must be at most 2048 characters long')
  .refine((value) => /^https?:\/\/[^\s/]+/i.test(value) && URL.canParse(value), 'must be an http:// or https:// URL')

const mediaId = z.string({ error: 'must be text' }).regex(/^med_[A-Za-z0-9_-]{1,64}$/, 'must be a gateway media id (med_…)')

const mediaFields = {
  url: httpUrl.optional(),
  media_id: mediaId.optional(),
}

/** Exactly one of `url` and `media_id`. */
function oneSource(message: { url?: string | undefined; media_id?: string | undefined }, context: z.RefinementCtx): void {
  if ((message.url === undefined) === (message.media_id === undefined)) {
    context.addIssue({ code: 'custom', message: 'must have exactly one of "url" and "media_id"', path: ['url'] })
  }
}

const caption = nonEmpty(1024).optional()
const header = nonEmpty(60).optional()
const footer = nonEmpty(60).optional()

const textMessage = z.strictObject({
  type: z.literal('text'),
  text: nonEmpty(OUTBOUND_TEXT_MAX),
  preview_url: z.boolean({ error: 'must be true or false' }).optional(),
})

const imageMessage = z.strictObject({ type: z.literal('image'), ...mediaFields, caption }).superRefine(oneSource)
const videoMessage = z.strictObject({ type: z.literal('video'), ...mediaFields, caption }).superRefine(oneSource)
const documentMessage = z
  .strictObject({ type: z.literal('document'), ...mediaFields, caption, filename: nonEmpty(240).optional() })
  .superRefine(oneSource)
const audioMessage = z
  .strictObject({ type: z.literal('audio'), ...mediaFields, voice: z.boolean({ error: 'must be true or false' }).optional() })
  .superRefine(oneSource)
const stickerMessage = z.strictObject({ type: z.literal('sticker'), ...mediaFields }).superRefine(oneSource)

/** Ids must be unique within one message: the answer names the option by id. */
function uniqueIds(items: ReadonlyArray<{ id: string }>, context: z.RefinementCtx, at: (index: number) => PropertyKey[]): void {
  const seen = new Set<string>()
  items.forEach((item, index) => {
    if (seen.has(item.id)) context.addIssue({ code: 'custom', message: `repeats the id ${JSON.stringify(item.id)}; ids must be unique`, path: at(index) })
    seen.add(item.id)
  })
}

const buttonsMessage = z
  .strictObject({
    type: z.literal('buttons'),
    text: nonEmpty(1024),
    buttons: z
      .array(z.strictObject({ id: nonEmpty(256), title: nonEmpty(20) }), { error: 'must be a JSON array' })
      .min(1, 'must hold at least 1 button'),
    header,
    footer,
  })
  .superRefine((message, context) => {
    // Named at the first button too many (`buttons[3]`), where the author has to look.
    if (message.buttons.length > 3) context.addIssue({ code: 'custom', message: 'at most 3 buttons', path: ['buttons', 3] })
    uniqueIds(message.buttons, context, (index) => ['buttons', index, 'id'])
  })

const listRow = z.strictObject({ id: nonEmpty(200), title: nonEmpty(24), description: nonEmpty(72).optional() })
const listMessage = z
  .strictObject({
    type: z.literal('list'),
    text: nonEmpty(4096),
    button: nonEmpty(20),
    sections: z
      .array(z.strictObject({ title: nonEmpty(24).optional(), rows: z.array(listRow, { error: 'must be a JSON array' }).min(1, 'must hold at least 1 row') }), {
        error: 'must be a JSON array',
      })
      .min(1, 'must hold at least 1 section'),
    header,
    footer,
  })
  .superRefine((message, context) => {
    if (message.sections.length > 10) context.addIssue({ code: 'custom', message: 'at most 10 sections', path: ['sections', 10] })
    let count = 0
    const rows: Array<{ id: string; at: PropertyKey[] }> = []
    message.sections.forEach((section, s) => {
      if (message.sections.length > 1 && section.title === undefined) {
        context.addIssue({ code: 'custom', message: 'needs a title when the list has more than one section', path: ['sections', s, 'title'] })
      }
      section.rows.forEach((row, r) => {
        count++
        rows.push({ id: row.id, at: ['sections', s, 'rows', r] })
        if (count === 11) context.addIssue({ code: 'custom', message: 'at most 10 rows in all sections together', path: ['sections', s, 'rows', r] })
      })
    })
    uniqueIds(rows, context, (index) => [...rows[index]!.at, 'id'])
  })

const ctaUrlMessage = z.strictObject({ type: z.literal('cta_url'), text: nonEmpty(1024), button: nonEmpty(20), url: httpUrl, header, footer })

const latitude = z.number({ error: 'must be a number' }).min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90')
const longitude = z.number({ error: 'must be a number' }).min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180')
const locationMessage = z.strictObject({
  type: z.literal('location'),
  latitude,
  longitude,
  name: nonEmpty(1000).optional(),
  address: nonEmpty(1000).optional(),
})

const reactionMessage = z.strictObject({
  type: z.literal('reaction'),
  message_id: z.string({ error: 'must be text' }).regex(/^msg_[A-Za-z0-9_-]{1,64}$/, 'must be a gateway message id (msg_…)'),
  // One emoji, perhaps with modifiers and joiners; "" removes the reaction.
  emoji: z.string({ error: 'must be text' }).max(32, 'must be one emoji'),
})

const templateHeader = z.union(
  [
    z.strictObject({ type: z.literal('text'), text: nonEmpty(60) }),
    z
      .strictObject({ type: z.enum(['image', 'video', 'document']), ...mediaFields })
      .superRefine(oneSource),
  ],
  { error: 'must be {"type": "text", "text"} or {"type": "image"|"video"|"document", "url"|"media_id"}' },
)
const templateParam = z.string({ error: 'must be text' }).max(1024, 'must be at most 1024 characters long')
const templateMessage = z.strictObject({
  type: z.literal('template'),
  name: nonEmpty(512),
  language: nonEmpty(20).optional(),
  params: z.union([z.array(templateParam), z.record(z.string().regex(/^[a-z0-9_]{1,40}$/), templateParam)], {
    error: 'must be an array of texts (positional {{1}}…) or an object of named texts',
  }).optional(),
  header: templateHeader.optional(),
  buttons: z
    .array(
      z.union(
        [
          z.strictObject({ index: z.int().min(0).max(9), payload: nonEmpty(1000) }),
          z.strictObject({ index: z.int().min(0).max(9), url_suffix: nonEmpty(1000) }),
        ],
        { error: 'must be {"index", "payload"} or {"index", "url_suffix"}' },
      ),
    )
    .max(10, 'at most 10 buttons')
    .optional(),
})

/** Every outbound message type, in the order the docs list them. */
export const OUTBOUND_TYPES = [
  'text', 'image', 'video', 'audio', 'document', 'sticker', 'buttons', 'list', 'cta_url', 'location', 'reaction', 'template',
] as const
export type OutboundType = (typeof OUTBOUND_TYPES)[number]

/** The schema of one outbound message. */
export const outboundMessageSchema = z.discriminatedUnion(
  'type',
  [
    textMessage,
    imageMessage,
    videoMessage,
    audioMessage,
    documentMessage,
    stickerMessage,
    buttonsMessage,
    listMessage,
    ctaUrlMessage,
    locationMessage,
    reactionMessage,
    templateMessage,
  ],
  { error: `must have a "type" of ${OUTBOUND_TYPES.map((type) => JSON.stringify(type)).join(', ')}` },
)

/** One outbound message, validated. */
export type OutboundMessage = z.output<typeof outboundMessageSchema>
export type MediaOutbound = Extract<OutboundMessage, { type: 'image' | 'video' | 'audio' | 'document' | 'sticker' }>
export type ButtonsOutbound = Extract<OutboundMessage, { type: 'buttons' }>
export type ListOutbound = Extract<OutboundMessage, { type: 'list' }>
export type TemplateOutbound = Extract<OutboundMessage, { type: 'template' }>

/** Media types: their message carries `url` or `media_id`. */
export const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'document', 'sticker'])

export function isMediaOutbound(message: OutboundMessage): message is MediaOutbound {
  return MEDIA_TYPES.has(message.type)
}

/** The outcome of validating one message: the message, or the first problem with its exact place. */
export type OutboundCheck = { ok: true; message: OutboundMessage } | { ok: false; path: string; problem: string }

/** `replies[1].buttons[3]` from a prefix and zod's issue path. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`
  return out
}

/**
 * Validates `input` as one outbound message; `prefix` names where it stands (`replies[1]`, `message`).
 * A missing field reads "is required"; otherwise the schema's sentence ("at most 3 buttons").
 */
export function checkOutbound(input: unknown, prefix: string): OutboundCheck {
  const result = outboundMessageSchema.safeParse(input)
  if (result.success) return { ok: true, message: result.data }
  const issue = pickIssue(result.error.issues, input)
  return { ok: false, path: formatPath(prefix, issue.path), problem: issue.message }
}

/** The most useful issue: an unknown field first, then the first one zod found. */
function pickIssue(issues: readonly z.core.$ZodIssue[], input: unknown): { path: PropertyKey[]; message: string } {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys')
  if (unknown && unknown.code === 'unrecognized_keys') {
    return { path: [...unknown.path, unknown.keys[0] ?? ''], message: 'is not a field of this message type' }
  }
  const first = issues[0]
  if (first === undefined) return { path: [], message: 'is not a valid message' }
  if (first.code === 'invalid_type' && valueAt(input, first.path) === undefined) return { path: first.path, message: 'is required' }
  return { path: first.path, message: first.message }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

/** The text a message shows in a conversation (its text, caption, or a short summary); null when none. */
export function displayTextOf(message: OutboundMessage): string | null {
  switch (message.type) {
    case 'text':
    case 'buttons':
    case 'list':
    case 'cta_url':
      return message.text
    case 'image':
    case 'video':
    case 'document':
      return message.caption ?? null
    case 'location':
      return message.name ?? message.address ?? null
    case 'reaction':
      return message.emoji === '' ? null : message.emoji
    case 'template':
      return null
    default:
      return null
  }
}

/** One outbound message as stored: its type, the text it shows, and its payload. */
export interface OutboundParts {
  type: string
  text: string | null
  payload: Record<string, unknown>
}

/**
 * The stored rows of one message: a `text` longer than `maxTextLength` becomes several, split at
 * paragraph, sentence or word boundaries (its payload only keeps `preview_url`, the body being the text
 * column); any other type is one row whose payload is the message itself.
 */
export function toOutboundParts(message: OutboundMessage, maxTextLength: number): OutboundParts[] {
  if (message.type === 'text') {
    const payload = message.preview_url === true ? { preview_url: true } : {}
    return splitText(message.text, maxTextLength)
      .filter((part) => part.length > 0)
      .map((text) => ({ type: 'text', text, payload }))
  }
  return [{ type: message.type, text: displayTextOf(message), payload: message }]
}

/** The message a stored outbound row sends (the inverse of `toOutboundParts`). */
export function outboundFromParts(parts: OutboundParts): OutboundMessage {
  if (parts.type === 'text') {
    return { type: 'text', text: parts.text ?? '', ...(parts.payload.preview_url === true ? { preview_url: true } : {}) }
  }
  return parts.payload as OutboundMessage
}
