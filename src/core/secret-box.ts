/**
 * Authenticated encryption of provider and bot credentials at rest: AES-256-GCM with a random 96-bit
 * nonce and a key id, so keys can rotate (the first key encrypts, every key decrypts).
 *
 * Format: `v1.<key id>.<nonce b64url>.<tag b64url>.<ciphertext b64url>`; the key id is the first 8 hex
 * characters of sha256(key), which names the key without revealing it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { GW_ERR_STORE_SECRET_KEY_MISSING } from './errors.js'

export interface SecretBox {
  encrypt(plaintext: string): string
  decrypt(sealed: string): string
  /** Id of the key new values are encrypted with. */
  readonly currentKeyId: string
}

/** Thrown when a stored value cannot be decrypted with any configured key. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError'
  constructor(
    message: string,
    options?: { cause?: unknown; missingKeyId?: string },
  ) {
    super(message, options)
    this.missingKeyId = options?.missingKeyId
  }
  /** The key id a stored value names when that key is not configured (then a key was removed too early). */
  readonly missingKeyId: string | undefined
}

/** The id of the key a sealed value was encrypted with, or undefined when it is not one of ours. */
export function sealedKeyId(sealed: string): string | undefined {
  const [version, keyId] = sealed.split('.')
  return version === 'v1' && keyId ? keyId : undefined
}

/**
 * Decrypts a stored secret of a named record, turning a missing key into a sentence an operator can act
 * on (which record, which key id, what to do) instead of an opaque failure.
 */
export function openStoredSecret(box: SecretBox, sealed: string, what: string): string {
  try {
    return box.decrypt(sealed)
  } catch (error) {
    if (error instanceof SecretBoxError && error.missingKeyId !== undefined) {
      throw GW_ERR_STORE_SECRET_KEY_MISSING(
        `${what} is encrypted with key ${error.missingKeyId}, which is not among the configured keys (SWITCHBOARD_SECRET_KEYS, or the key file). Add that key back (after the current one), then run npm run rekey to re-encrypt everything with the current key.`,
      )
    }
    throw error
  }
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8)
}

export function createSecretBox(keys: readonly Buffer[]): SecretBox {
  if (keys.length === 0) throw new SecretBoxError('at least one key is needed')
  for (const key of keys) if (key.length !== 32) throw new SecretBoxError('keys must be 32 bytes')
  const byId = new Map(keys.map((key) => [keyIdOf(key), key]))
  const encryptKey = keys[0]!
  const currentKeyId = keyIdOf(encryptKey)

  return {
    currentKeyId,
    encrypt(plaintext) {
      const nonce = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', encryptKey, nonce)
      // The key id is authenticated too, so a value cannot be relabelled to another key.
      cipher.setAAD(Buffer.from(currentKeyId))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return ['v1', currentKeyId, nonce.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.')
    },
    decrypt(sealed) {
      const [version, keyId, nonce, tag, ciphertext] = sealed.split('.')
      if (version !== 'v1' || !keyId || nonce === undefined || tag === undefined || ciphertext === undefined) {
        throw new SecretBoxError('stored secret has an unknown format')
      }
      const key = byId.get(keyId)
      if (!key) {
        throw new SecretBoxError(`stored secret was encrypted with key ${keyId}, which is not in SWITCHBOARD_SECRET_KEYS`, { missingKeyId: keyId })
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'))
        decipher.setAAD(Buffer.from(keyId))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
      } catch (cause) {
        throw new SecretBoxError(`stored secret failed authentication with key ${keyId}`, { cause })
      }
    },
  }
}

/**
 * Masks a secret for display: enough to recognise it, never enough to use it (`EAAB…Zq`).
 * Short secrets show nothing but the ellipsis.
 */
export function maskSecret(secret: string): string {
  if (secret.length === 0) return ''
  if (secret.length < 12) return '…'
  return `${secret.slice(0, 4)}…${secret.slice(-2)}`
}

/** Whether a value sent back by a client is the masked form of the stored secret (PATCH keeps it). */
export function isMaskOf(value: string, secret: string): boolean {
  return value === maskSecret(secret)
}
