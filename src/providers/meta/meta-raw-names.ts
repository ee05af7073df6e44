/**
 * The numbers and accounts a Meta webhook body names, read off its raw bytes without parsing it, so a
 * forged 3 MB body can be refused before `JSON.parse` turns it into tens of MB of heap and tens of ms
 * of CPU (issue: a flood of unsigned bodies must not stop signed ones from landing).
 *
 * Only a hint for an early refusal, never the routing itself: the parsed body's names are checked in
 * full afterwards. Meta writes keys as plain ASCII, so a key found here is a key; a string value cannot
 * hold `"phone_number_id":"…"` with bare quotes (JSON escapes them), so nothing inside a message's text
 * is taken for a key. A body that spells its keys with escapes hides nothing: it is parsed and checked
 * as before.
 */

const PHONE_NUMBER_ID = /"phone_number_id"\s*:\s*"(\d{1,32})"/g
const ACCOUNT_ID = /"id"\s*:\s*"(\d{1,32})"/g
const TEMPLATE_FIELD = /"field"\s*:\s*"message_template_status_update"/
/** Distinct ids read at most: enough for any batch Meta sends; a body naming more is checked after parsing. */
const MAX_IDS = 1_000

export interface MetaRawNames {
  phoneNumberIds: string[]
  accountIds: string[]
}

/**
 * The ids a raw Meta webhook body names (`latin1`: digits and ASCII keys read the same, with no UTF-8
 * decoding). Accounts (`entry[].id`) name the signer only of template status updates, as in the parsed
 * check, so they are read only from a body that holds one.
 */
export function scanMetaWebhookNames(raw: Buffer, withAccounts: boolean): MetaRawNames {
  const text = raw.toString('latin1')
  return {
    phoneNumberIds: distinct(text, PHONE_NUMBER_ID),
    accountIds: withAccounts && TEMPLATE_FIELD.test(text) ? distinct(text, ACCOUNT_ID) : [],
  }
}

function distinct(text: string, pattern: RegExp): string[] {
  const found = new Set<string>()
  for (const match of text.matchAll(pattern)) {
    found.add(match[1]!)
    if (found.size >= MAX_IDS) break
  }
  return [...found]
}
