/**
 * `GET /media/{id}?expires=…&signature=…`: stored media for whoever holds a signed link (a bot, Twilio
 * fetching a `MediaUrl`, a browser), without an API token, until the link expires.
 */
import type { FastifyPluginAsync } from 'fastify'
import { GW_ERR_API_NOT_FOUND, GW_ERR_MEDIA_SIGNATURE } from '../core/errors.js'
import type { MediaLibrary } from './media-library.js'
import { sendMedia } from './media-response.js'

/** The public route serving signed media links. */
export function createMediaLinkModule(library: MediaLibrary): FastifyPluginAsync {
  return async (server) => {
    server.get('/media/:id', async (request, reply) => {
      const { id } = request.params as { id: string }
      const query = request.query as { expires?: unknown; signature?: unknown }
      const expires = typeof query.expires === 'string' ? query.expires : undefined
      const signature = typeof query.signature === 'string' ? query.signature : undefined
      // The signature first: without it, nobody learns whether an id exists.
      if (!library.verifySignature(id, expires, signature)) throw GW_ERR_MEDIA_SIGNATURE()
      const record = await library.findById(id)
      if (!record) throw GW_ERR_API_NOT_FOUND(`No media ${id} exists; it may have been deleted.`)
      // The bytes under an id never change; a short max-age spares refetches without outliving the link much.
      return sendMedia(request, reply, library, record, 'private, max-age=300')
    })
  }
}
