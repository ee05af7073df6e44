/**
 * Decodes the `application/x-www-form-urlencoded` body of a Twilio webhook, strictly. `URLSearchParams`
 * would turn bytes that are not UTF-8 (`%FF`) and broken escapes (`%zz`) into U+FFFD or keep them as
 * text, and would let a repeated name hide behind its first value; here each of them is refused with a
 * reason, so the webhook layer answers 400 instead of storing a mangled message.
 */
import type { TwilioParams } from './twilio-signature.js'

/** A decoded body: the pairs in order (what the signature covers) and the fields by name. */
export type TwilioForm =
  | { ok: true; pairs: TwilioParams; fields: ReadonlyMap<string, string> }
  | { ok: false; problem: 'not_utf8' | 'malformed' | 'repeated'; field?: string; message: string }

/** Throws on bytes that are not UTF-8 instead of replacing them. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Decodes `raw`; every problem comes back as a value with a sentence for the sender. */
export function decodeTwilioForm(raw: Buffer): TwilioForm {
  let body: string
  try {
    body = strictUtf8.decode(raw)
  } catch {
    return { ok: false, problem: 'not_utf8', message: 'The webhook body is not UTF-8 text; Twilio sends form-encoded UTF-8.' }
  }
  const pairs: Array<readonly [string, string]> = []
  const fields = new Map<string, string>()
  for (const part of body.split('&')) {
    if (part === '') continue
    const equals = part.indexOf('=')
    let name: string
    let value: string
    try {
      name = decodeComponent(equals === -1 ? part : part.slice(0, equals))
      value = equals === -1 ? '' : decodeComponent(part.slice(equals + 1))
    } catch {
      return {
        ok: false,
        problem: 'malformed',
        message: 'The webhook body is not valid form encoding: a %-escape is broken or does not encode UTF-8 text.',
      }
    }
    if (fields.has(name)) {
      return {
        ok: false,
        problem: 'repeated',
        field: name,
        message: `The form field ${name} appears more than once; Twilio sends each field of a WhatsApp webhook once.`,
      }
    }
    fields.set(name, value)
    pairs.push([name, value])
  }
  return { ok: true, pairs, fields }
}

/** `+` is a space in form encoding; decodeURIComponent throws on broken escapes and non-UTF-8 bytes. */
function decodeComponent(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '))
}
