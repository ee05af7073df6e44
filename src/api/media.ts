/**
 * Media (SPEC §9.3): `POST /api/media` stores a file for the caller's team (multipart field `file`, or
 * the raw bytes with their own Content-Type) and `GET /api/media/{id}` serves it back. Media ids can
 * then be sent as `media_id` in outbound messages.
 *
 * The admin API takes only JSON elsewhere; these routes live in a scope of their own, where any body
 * type reaches the handler as a stream and nothing is buffered in memory.
 */
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { fastifyMultipart } from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_MALFORMED,
  GW_ERR_API_MISSING_FIELD,
  GW_ERR_API_UNSUPPORTED_MEDIA_TYPE,
  isGatewayError,
} from '../core/errors.js'
import { mediaTooLarge, sendMedia, type MediaLibrary, type MediaRecord } from '../media/index.js'
import { callerOf } from './auth.js'
import { idParam, notFound, type ApiRoutes } from './api-context.js'

/** JSON shape of a stored media item. */
export interface MediaDto {
  id: string
  mime_type: string
  size: number
  /** Hex sha256 of the bytes. */
  sha256: string
  filename: string | null
  created_at: string
}

/** Room for the multipart boundaries and part headers around a file of the largest size. */
const MULTIPART_OVERHEAD = 64 * 1024
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[^\x00-\x1f\x7f]*)?$/i

function mediaDto(record: MediaRecord): MediaDto {
  return {
    id: record.id,
    mime_type: record.mimeType,
    size: record.size,
    sha256: record.sha256,
    filename: record.filename,
    created_at: record.createdAt,
  }
}

/** A file name as given, without any folder part; null when there is none. */
function cleanFilename(raw: unknown, field: string): string | null {
  if (raw === undefined || raw === null || raw === '') return null
  if (typeof raw !== 'string') throw GW_ERR_API_INVALID_VALUE(`"${field}" must be a single file name.`, { field })
  // NFC, so a name typed on macOS (decomposed accents) reads the same as elsewhere.
  const name = raw.split(/[/\\]/).pop()!.trim().normalize('NFC')
  if (name === '') return null
  if (name.length > 255 || /[\x00-\x1f\x7f]/.test(name)) {
    throw GW_ERR_API_INVALID_VALUE(`"${field}" must be a file name of at most 255 characters without control characters.`, { field })
  }
  return name
}

function checkMimeType(mimeType: string, field: string): string {
  const value = mimeType.trim()
  if (value.length > 200 || !MIME_TYPE.test(value)) {
    throw GW_ERR_API_INVALID_VALUE(`"${field}" must be a media type such as image/jpeg or application/pdf; got "${value.slice(0, 60)}".`, { field })
  }
  return value
}

/**
 * The body's chunks, refusing an empty one. Ending the iteration early does not destroy the request:
 * the app still answers (413, 422) on the same connection, and Node discards the unread rest.
 * `readError` says what a failure to read the source means (a form cut short is the client's mistake).
 */
async function* nonEmpty(source: Readable, readError: (error: unknown) => unknown = (error) => error): AsyncGenerator<Uint8Array> {
  let size = 0
  const chunks = source.iterator({ destroyOnReturn: false })
  for (;;) {
    let next: IteratorResult<unknown>
    try {
      next = await chunks.next()
    } catch (error) {
      throw readError(error)
    }
    if (next.done === true) break
    size += (next.value as Uint8Array).byteLength
    yield next.value as Uint8Array
  }
  if (size === 0) throw GW_ERR_API_MISSING_FIELD('The upload is empty; send the file\'s bytes.', { field: 'file' })
}

/** busboy's refusal of a form it cannot read (no boundary, a part cut short): the client's mistake, a 400. */
function malformedForm(error: unknown): unknown {
  if (isGatewayError(error)) return error
  const why = error instanceof Error ? error.message : 'malformed'
  return GW_ERR_API_MALFORMED(
    `The multipart/form-data body could not be read (${why}); send a form with the file in a part named "file", or the raw bytes with their own Content-Type.`,
  )
}

/** Builds the media routes over the gateway's media library. */
export function createMediaRoutes(library: MediaLibrary): ApiRoutes {
  const tooLarge = () => mediaTooLarge(library.maxBytes)

  /** Refuses a declared length past the limit before reading a byte. */
  const checkDeclaredLength = (request: FastifyRequest, limit: number) => {
    const declared = Number(request.headers['content-length'] ?? Number.NaN)
    if (Number.isFinite(declared) && declared > limit) throw tooLarge()
  }

  const uploadRoutes = async (scope: FastifyInstance) => {
    // This scope only: every body arrives as the raw stream (no JSON parsing, no buffering)...
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    // ...except multipart, whose file part is streamed out of the form. One byte past the limit lets the
    // library see (and refuse) a file over it; busboy discards the rest.
    // An answer given before the whole upload arrived (413, 422, 401) closes the connection: the client
    // may still be sending, and the rest of its body must not be read as its next request.
    scope.addHook('onSend', async (request, reply, payload) => {
      if (!request.raw.complete) reply.header('connection', 'close')
      return payload
    })
    await scope.register(fastifyMultipart, {
      throwFileSizeLimit: false,
      limits: { fileSize: library.maxBytes + 1, files: 1, fields: 20, parts: 21, fieldSize: 64 * 1024 },
    })

    scope.post('/api/media', async (request, reply) => {
      const caller = callerOf(request)
      if (request.isMultipart()) {
        checkDeclaredLength(request, library.maxBytes + MULTIPART_OVERHEAD)
        const part = await request.file().catch((error: unknown) => {
          throw malformedForm(error)
        })
        if (!part || part.fieldname !== 'file') {
          part?.file.resume()
          throw GW_ERR_API_MISSING_FIELD('The form needs the file in a part named "file".', { field: 'file' })
        }
        try {
          const record = await library.store({
            teamId: caller.teamId,
            body: nonEmpty(part.file, malformedForm),
            mimeType: checkMimeType(part.mimetype || 'application/octet-stream', 'file'),
            filename: cleanFilename(part.filename, 'file'),
            source: 'upload',
          })
          return reply.code(201).send(mediaDto(record))
        } catch (error) {
          // Let busboy run through the rest of the form, so the answer goes out on a sane connection.
          part.file.resume()
          throw error
        }
      }

      const contentType = request.headers['content-type']
      if (contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType)) {
        throw GW_ERR_API_UNSUPPORTED_MEDIA_TYPE(
          'Send the file as multipart/form-data (a part named "file") or as its raw bytes with its own Content-Type; a JSON body is not a file.',
        )
      }
      checkDeclaredLength(request, library.maxBytes)
      const body = request.body as IncomingMessage | undefined
      if (body === undefined || body === null) throw GW_ERR_API_MISSING_FIELD('The upload is empty; send the file\'s bytes.', { field: 'file' })
      const query = request.query as { filename?: unknown }
      const record = await library.store({
        teamId: caller.teamId,
        body: nonEmpty(body),
        mimeType: checkMimeType(contentType ?? 'application/octet-stream', 'content-type'),
        filename: cleanFilename(query.filename, 'filename'),
        source: 'upload',
      })
      return reply.code(201).send(mediaDto(record))
    })
  }

  return (server, context) => {
    void server.register(uploadRoutes)

    server.get('/api/media/:id', async (request, reply) => {
      const caller = callerOf(request)
      const id = idParam(request, 'media')
      const record = await library.find(caller.teamId, id)
      if (!record) throw notFound('media', id)
      context.deps.logger.debug({ mediaId: id }, 'api:media:served')
      return sendMedia(request, reply, library, record, 'private, no-cache')
    })
  }
}
