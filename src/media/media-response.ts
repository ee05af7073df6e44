/**
 * How stored media is answered, the same for the admin API (`GET /api/media/{id}`) and signed links
 * (`GET /media/{id}`): the stored type and length, the sha256 as a strong ETag (If-None-Match → 304),
 * and headers that stop a browser from running anything it is handed: `nosniff`, a sandboxing CSP, and
 * `attachment` for everything but plain images, audio and video (an HTML or SVG file is a download, never
 * a page on the gateway's origin, where the console keeps its token).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { MediaLibrary, MediaRecord } from './media-library.js'

/** Shown inline by browsers; everything else is served as a download. SVG is left out: it can carry scripts. */
const INLINE_TYPES = /^(image\/(jpeg|png|gif|webp|avif|bmp)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)$/

/** The mime type without parameters, lower case (`audio/ogg; codecs=opus` → `audio/ogg`). */
function baseType(mimeType: string): string {
  return mimeType.split(';')[0]!.trim().toLowerCase()
}

/** `filename="…"` with an ASCII fallback, plus RFC 6266's `filename*` when the name is not plain ASCII. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string | null): string {
  if (filename === null || filename === '') return kind
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const plain = fallback === filename
  // encodeURIComponent leaves ' ( ) * ! unescaped; RFC 5987's attr-char does not allow them.
  const encoded = encodeURIComponent(filename).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return plain ? `${kind}; filename="${fallback}"` : `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

/** Whether an If-None-Match header names the ETag (weak comparison, as for GET). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(',').some((tag) => {
    const value = tag.trim()
    return value === '*' || value.replace(/^W\//, '') === etag
  })
}

/** Answers `record`'s bytes (or 304 when the client's copy is current). */
export async function sendMedia(
  request: FastifyRequest,
  reply: FastifyReply,
  library: MediaLibrary,
  record: MediaRecord,
  cacheControl: string,
): Promise<FastifyReply> {
  const etag = `"${record.sha256}"`
  reply
    .header('etag', etag)
    .header('cache-control', cacheControl)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
  if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send()
  const inline = INLINE_TYPES.test(baseType(record.mimeType))
  const stream = await library.open(record)
  return reply
    .header('content-type', record.mimeType)
    .header('content-length', String(record.size))
    .header('content-disposition', contentDisposition(inline ? 'inline' : 'attachment', record.filename ?? (inline ? null : record.id)))
    .send(stream)
}
