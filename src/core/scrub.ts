/**
 * What the gateway shows of secrets outside the secret box (SPEC §13): credentials in URLs are masked in
 * every response, and what a bot or a provider says in an error is quoted at most 200 characters long,
 * scrubbed of every stored secret of that bot or provider. One rule for every place that quotes them:
 * scrub first (so a cut can never leave half a secret), then cut.
 */
import { maskSecret } from './secret-box.js'

/** The most characters of a bot's or a provider's own words an error quotes. */
export const EXCERPT_CHARS = 200

/**
 * Shorter values are not scrubbed: they would mask ordinary words in every sentence, and a key that
 * short is no secret worth the name.
 */
const SCRUB_MIN = 4

/** What a URL shows in place of the password it carries (`https://user:••••@host/…`). */
export const URL_PASSWORD_MASK = '••••'

/**
 * A secret to keep out of a text: a stored value (shown as the API masks it, `EAAB…Zq`), or a URL's
 * password (`{hidden}`: shown as `••••`, as the API shows it, nothing of it).
 */
export type Secret = string | { hidden: string } | null | undefined

/** The forms a secret may take in an answer: as stored, JSON-escaped, percent-encoded or -decoded. */
function formsOf(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]
  try {
    forms.push(decodeURIComponent(secret))
  } catch {
    // Not percent-encoded text: the other forms cover it.
  }
  return forms
}

/**
 * `text` with every occurrence of each secret (in any of its forms) replaced by its mask, the same mask
 * the API shows (`EAAB…Zq`); longer secrets first, so one that contains another is masked whole.
 */
export function scrubSecrets(text: string, secrets: readonly Secret[]): string {
  const masks = new Map<string, string>()
  for (const secret of secrets) {
    if (secret === null || secret === undefined) continue
    const value = typeof secret === 'string' ? secret : secret.hidden
    if (value.length < SCRUB_MIN) continue
    for (const form of formsOf(value)) {
      if (form.length >= SCRUB_MIN) masks.set(form, typeof secret === 'string' ? maskSecret(form) : URL_PASSWORD_MASK)
    }
  }
  let out = text
  for (const [form, mask] of [...masks].sort(([a], [b]) => b.length - a.length)) {
    if (out.includes(form)) out = out.split(form).join(mask)
  }
  return out
}

/** At most `max` characters of `text` on one line, scrubbed first; whether it was cut. */
function cutLine(text: string, secrets: readonly Secret[], max: number): { line: string; cut: boolean } {
  const line = scrubSecrets(text, secrets).replace(/\s+/g, ' ').trim()
  if (line.length <= max) return { line, cut: false }
  // Do not leave half a surrogate pair at the cut.
  return { line: line.slice(0, max).replace(/[\ud800-\udbff]$/, ''), cut: true }
}

/**
 * At most `max` characters of `text` on one line, scrubbed of `secrets` first, `…` after a cut.
 * Unquoted, for sentences that quote a provider's message as part of their own.
 */
export function cutWords(text: string, secrets: readonly Secret[] = [], max = EXCERPT_CHARS): string {
  const { line, cut } = cutLine(text, secrets, max)
  return cut ? `${line}…` : line
}

/** Like `cutWords`, quoted: `"words"`, `"words"…` when cut, '' for an empty body. */
export function excerptOf(text: string, secrets: readonly Secret[] = [], max = EXCERPT_CHARS): string {
  const { line, cut } = cutLine(text, secrets, max)
  if (line === '') return ''
  return cut ? `"${line}"…` : `"${line}"`
}

/**
 * The credentials a URL carries in its userinfo, as secrets to scrub (shown as `••••`): the password
 * (as written and decoded), or the user name when it stands alone (then it is the credential:
 * `https://token@host`).
 */
export function urlSecrets(url: string | null | undefined): { hidden: string }[] {
  if (typeof url !== 'string' || !URL.canParse(url)) return []
  const { username, password } = new URL(url)
  const secret = password !== '' ? password : username
  if (secret === '') return []
  const secrets = [{ hidden: secret }]
  try {
    secrets.push({ hidden: decodeURIComponent(secret) })
  } catch {
    // Kept as written.
  }
  return secrets
}

/**
 * A URL as responses show it: a password in it replaced by `••••` (a user name alone, being the
 * credential then, masked the same way); any other URL returned exactly as given.
 */
export function maskUrl(url: string): string {
  if (!URL.canParse(url)) return url
  const parsed = new URL(url)
  if (parsed.username === '' && parsed.password === '') return url
  const userinfo = parsed.password !== '' ? `${parsed.username}:${URL_PASSWORD_MASK}` : URL_PASSWORD_MASK
  return `${parsed.protocol}//${userinfo}@${parsed.host}${parsed.pathname}${parsed.search}${parsed.hash}`
}

/** Whether a URL sent back by a client is the masked form of the stored one (a PATCH keeps the stored URL). */
export function isMaskedUrlOf(sent: string, stored: string): boolean {
  const masked = maskUrl(stored)
  return masked !== stored && sent === masked
}

/** Whether a URL carries the mask in its userinfo: a masked URL that is not the stored one's mask. */
export function looksMaskedUrl(url: string): boolean {
  if (!URL.canParse(url)) return false
  const { username, password } = new URL(url)
  const mask = encodeURIComponent(URL_PASSWORD_MASK)
  return password === mask || (password === '' && username === mask)
}
