/**
 * The benchmark's photos: media id `bench-<n>` is `size` deterministic JPEG-like bytes (the JPEG start
 * and end markers, a JFIF header, pseudo-random bytes standing for the compressed picture), different for
 * every n. The runner needs each photo's SHA-256 for its webhook (base64, as Meta writes it) and the fake
 * Graph API for its media answer (hex), thousands a second: every photo shares one prefix and differs only
 * in its last 14 bytes (n, then the end marker), so a digest is a copy of the prefix's hash state plus
 * those bytes, not a pass over 100 KB.
 */
import { createHash } from 'node:crypto'

/** Media ids the bench's fake Graph API serves: `bench-<n>`. */
export const PHOTO_ID_PREFIX = 'bench-'

/** The default photo size, 100 KB: a WhatsApp photo after its compression is 50–300 KB. */
export const DEFAULT_PHOTO_BYTES = 100 * 1024

const TAIL_BYTES = 14
// SOI, APP0 "JFIF\0" v1.1, no density, no thumbnail.
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])

/** The photos of one size: `prefix` (shared) + `tailOf(n)` are photo n's bytes. */
export function photoSet(size = DEFAULT_PHOTO_BYTES) {
  if (!Number.isSafeInteger(size) || size < JPEG_HEAD.length + TAIL_BYTES + 1) throw new Error(`photo size ${size} is too small`)
  const prefix = Buffer.alloc(size - TAIL_BYTES)
  JPEG_HEAD.copy(prefix)
  // xorshift32: the same bytes on every run and in every process.
  let x = 0x9e3779b9
  for (let i = JPEG_HEAD.length; i < prefix.length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    prefix[i] = x & 0xff
  }
  const prefixHash = createHash('sha256').update(prefix)
  const tailOf = (n) => {
    const tail = Buffer.alloc(TAIL_BYTES)
    tail.write(String(n).padStart(12, '0').slice(-12), 0, 'latin1')
    tail[12] = 0xff
    tail[13] = 0xd9 // EOI
    return tail
  }
  return {
    size,
    prefix,
    tailOf,
    idOf: (n) => `${PHOTO_ID_PREFIX}${n}`,
    /** Photo n's SHA-256 digest (a Buffer). */
    digestOf: (n) => prefixHash.copy().update(tailOf(n)).digest(),
    /** Photo n's bytes, whole (tests of this module; the fake writes prefix and tail). */
    bytesOf: (n) => Buffer.concat([prefix, tailOf(n)]),
  }
}
