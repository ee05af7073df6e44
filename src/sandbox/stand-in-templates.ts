/**
 * The sandbox business's message templates, as Meta's `GET /{waba}/message_templates` lists them, and
 * Meta's answers to a template send: an unknown name or language, or a template that is not approved
 * (pending or rejected), is refused with 132001; a paused one with 132015, a disabled one with 132016;
 * body parameters that do not fit the template with 132000 (count) or 132012 (named vs positional).
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/templates/overview
 */

/** One template in Graph's shape (`components` as Meta writes them). */
export interface StandInTemplate {
  id: string
  name: string
  language: string
  status: string
  category: string
  parameter_format: 'POSITIONAL' | 'NAMED'
  components: Array<Record<string, unknown>>
}

/** The one-parameter template the sandbox channel sends a text as when the window is closed. */
export const SANDBOX_FALLBACK_TEMPLATE = { name: 'new_bot_message', language: 'en', param: 'bot_message' } as const

/** What the sandbox's WhatsApp Business Account has: approved ones to send, one pending, one rejected, one paused. */
export const SANDBOX_TEMPLATES: readonly StandInTemplate[] = [
  {
    id: '1055501000000101',
    name: 'appointment_reminder',
    language: 'en',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'POSITIONAL',
    components: [
      { type: 'BODY', text: 'Hi {{1}}, this is a reminder of your appointment on {{2}}. Reply STOP to stop these messages.', example: { body_text: [['Ana', '16 January at 09:30']] } },
      { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Confirm' }, { type: 'QUICK_REPLY', text: 'Reschedule' }] },
    ],
  },
  {
    id: '1055501000000102',
    name: 'order_update',
    language: 'en',
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'NAMED',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Your order' },
      {
        type: 'BODY',
        text: 'Hello {{first_name}}, your order {{order_id}} arrives on {{delivery_date}}.',
        example: {
          body_text_named_params: [
            { param_name: 'first_name', example: 'Ana' },
            { param_name: 'order_id', example: 'A-1093' },
            { param_name: 'delivery_date', example: '16 January' },
          ],
        },
      },
      { type: 'FOOTER', text: 'Reply STOP to opt out' },
      { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Talk to a person' }] },
    ],
  },
  {
    id: '1055501000000103',
    name: SANDBOX_FALLBACK_TEMPLATE.name,
    language: SANDBOX_FALLBACK_TEMPLATE.language,
    status: 'APPROVED',
    category: 'UTILITY',
    parameter_format: 'NAMED',
    components: [
      {
        type: 'BODY',
        text: `{{${SANDBOX_FALLBACK_TEMPLATE.param}}}`,
        example: { body_text_named_params: [{ param_name: SANDBOX_FALLBACK_TEMPLATE.param, example: 'Here is the answer to your question.' }] },
      },
    ],
  },
  {
    id: '1055501000000104',
    name: 'spring_sale',
    language: 'en',
    status: 'PENDING',
    category: 'MARKETING',
    parameter_format: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'Spring sale: {{1}} off everything until Sunday.', example: { body_text: [['20%']] } }],
  },
  {
    id: '1055501000000105',
    name: 'win_a_prize',
    language: 'en',
    status: 'REJECTED',
    category: 'MARKETING',
    parameter_format: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'Congratulations {{1}}! You won a prize. Claim it now.', example: { body_text: [['Ana']] } }],
  },
  {
    id: '1055501000000106',
    name: 'weekly_tips',
    language: 'en',
    status: 'PAUSED',
    category: 'MARKETING',
    parameter_format: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'This week’s tip: {{1}}', example: { body_text: [['drink water']] } }],
  },
]

/** A Graph error answer: HTTP status and Meta's `error` object (without the fbtrace_id). */
export interface TemplateSendError {
  status: number
  code: number
  message: string
  details: string
}

/** The `{{…}}` names of a template's body, in order. */
export function templateBodyParams(template: StandInTemplate): string[] {
  const body = template.components.find((c) => c.type === 'BODY')
  const text = typeof body?.text === 'string' ? body.text : ''
  return [...new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!))]
}

/**
 * Meta's answer to a send's `template` object, or null when it goes through. Languages compare with
 * `-` and `_` as one, as Meta's do.
 */
export function templateSendError(templates: readonly StandInTemplate[], sent: unknown): TemplateSendError | null {
  const object = typeof sent === 'object' && sent !== null ? (sent as Record<string, unknown>) : {}
  const name = typeof object.name === 'string' ? object.name : ''
  const languageObject = object.language as { code?: unknown } | undefined
  const language = typeof languageObject?.code === 'string' ? languageObject.code : ''
  if (name === '' || language === '') {
    return { status: 400, code: 100, message: '(#100) Invalid parameter', details: 'template.name and template.language.code are required' }
  }
  const same = (a: string, b: string) => a.replace(/-/g, '_').toLowerCase() === b.replace(/-/g, '_').toLowerCase()
  const template = templates.find((t) => t.name === name && same(t.language, language))
  const missing: TemplateSendError = {
    status: 404,
    code: 132001,
    message: '(#132001) Template name does not exist in the translation',
    details: `template name (${name}) does not exist in ${language}`,
  }
  if (template === undefined) return missing
  if (template.status === 'PAUSED') {
    return { status: 400, code: 132015, message: '(#132015) Template is Paused', details: `Template ${name} is paused because of low quality: it cannot be sent until Meta unpauses it.` }
  }
  if (template.status === 'DISABLED') {
    return { status: 400, code: 132016, message: '(#132016) Template is disabled', details: `Template ${name} was disabled because of low quality.` }
  }
  // Meta sends only approved templates; a pending or rejected one is "not in the translation" yet.
  if (template.status !== 'APPROVED') return missing
  return paramsError(template, object.components)
}

function paramsError(template: StandInTemplate, components: unknown): TemplateSendError | null {
  const list = Array.isArray(components) ? (components as Array<Record<string, unknown>>) : []
  const body = list.find((c) => typeof c?.type === 'string' && c.type.toLowerCase() === 'body')
  const given = Array.isArray(body?.parameters) ? (body.parameters as Array<Record<string, unknown>>) : []
  const expected = templateBodyParams(template)
  if (given.length !== expected.length) {
    return {
      status: 400,
      code: 132000,
      message: '(#132000) Number of parameters does not match the expected number of params',
      details: `body: number of localizable_params (${given.length}) does not match the expected number of params (${expected.length})`,
    }
  }
  const named = given.filter((p) => typeof p.parameter_name === 'string')
  const wrongFormat = template.parameter_format === 'NAMED' ? named.length !== given.length || named.some((p) => !expected.includes(String(p.parameter_name))) : named.length > 0
  if (wrongFormat) {
    return {
      status: 400,
      code: 132012,
      message: '(#132012) Parameter format does not match format in the created template',
      details: `body: the template takes ${template.parameter_format === 'NAMED' ? `named parameters ${expected.join(', ')}` : 'positional parameters'}`,
    }
  }
  return null
}
