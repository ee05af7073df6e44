/** Media uploads (api/media.ts) and failed work (api/jobs.ts) in the reference. */
import { z } from 'zod'
import type { JobRetryDto } from '../jobs.js'
import { deadJobExample, IDS, mediaExample, pageOf } from './examples.js'
import { idParams, pageQuery, type DocumentedGroup } from './operation.js'

const binary = { type: 'string', contentMediaType: 'application/octet-stream' } as const

const retried: JobRetryDto = { job_id: IDS.job, message_id: 'msg_01jq3z1a2b3c4d5e6f7g8h9j0k1m', copied: true }

export const mediaJobDocs: DocumentedGroup = {
  operations: [
    {
      method: 'post',
      path: '/api/media',
      tag: 'Media',
      summary: 'Upload a file to send',
      description:
        'As `multipart/form-data` with the file in a part named `file` (what browsers and `curl -F file=@invoice.pdf` send), or as the raw bytes with their own Content-Type and `?filename=`. Up to `SWITCHBOARD_MEDIA_MAX_BYTES` (100 MB by default). Send it with `media_id` in any media message.',
      query: z.object({ filename: z.string().max(255).optional().meta({ description: 'Raw uploads only: the file\'s name, shown to the recipient of a document.' }) }),
      otherContent: {
        'multipart/form-data': {
          schema: { type: 'object', properties: { file: { ...binary, description: 'The file; its part\'s Content-Type and filename are kept.' } }, required: ['file'] },
        },
        'application/octet-stream': { schema: { ...binary, description: 'The raw bytes, with the file\'s own Content-Type (e.g. `image/jpeg`) instead of this one.' } },
      },
      success: { status: 201, description: 'The stored file.', example: mediaExample },
      errors: [400, 413, 415, 422],
    },
    {
      method: 'get',
      path: '/api/media/{id}',
      tag: 'Media',
      summary: 'Download a stored file',
      description: 'Its bytes with their Content-Type. Bots and providers fetch media through signed `/media/{id}` links instead, without a token.',
      params: idParams('media', IDS.media),
      success: { status: 200, description: 'The file.', contentType: 'application/octet-stream', schema: binary },
      errors: [404],
    },
    {
      method: 'get',
      path: '/api/jobs/dead',
      tag: 'Failed work',
      summary: 'List failed work',
      description:
        'Work the gateway gave up on, newest first: a bot call or a send that kept failing (with the message it was about), or an event delivery (with the event). A page may hold fewer rows than `limit` while `next_cursor` still leads on.',
      query: pageQuery,
      success: { status: 200, description: 'A page of dead jobs.', example: pageOf(deadJobExample) },
      errors: [400, 422],
    },
    {
      method: 'post',
      path: '/api/jobs/{id}/retry',
      tag: 'Failed work',
      summary: 'Retry failed work',
      description: 'Queues the work again. A failed message is queued again as a copy (`copied: true`, `message_id` the copy); the failed original stays in its conversation with its reason. No body.',
      params: idParams('dead job', IDS.job),
      success: { status: 202, description: 'Queued again.', example: retried },
      errors: [404, 409],
    },
  ],
}
