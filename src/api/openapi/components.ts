/**
 * The parts every operation of the reference shares: the error shape (defined once, with each
 * status's examples built from the error catalogue, so their codes are the ones the API sends), the
 * list envelope and the bearer token.
 */
import { z } from 'zod'
import {
  GW_ERR_API_BODY_TOO_LARGE,
  GW_ERR_API_CONFLICT,
  GW_ERR_API_FORBIDDEN,
  GW_ERR_API_INVALID_CURSOR,
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_IN_USE,
  GW_ERR_API_MALFORMED,
  GW_ERR_API_MISSING_FIELD,
  GW_ERR_API_NOT_FOUND,
  GW_ERR_API_NUMBER_IN_USE,
  GW_ERR_API_PARTICIPANT_OPTED_OUT,
  GW_ERR_API_UNAUTHENTICATED,
  GW_ERR_API_UNKNOWN_FIELD,
  GW_ERR_API_UNSUPPORTED_MEDIA_TYPE,
  GW_ERR_PROVIDER_UNREACHABLE,
  type GatewayError,
} from '../../core/errors.js'
import type { ErrorDto } from '../dto.js'
import type { ErrorStatus } from './operation.js'

/** `{"error": {code, message, field?}}`, the body of every error (SPEC §4). */
export const errorSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: 'What went wrong, as a stable code; docs/errors.md lists every one.', example: 'invalid_value' }),
      message: z.string().meta({ description: 'A sentence a person can act on.' }),
      field: z
        .string()
        .optional()
        .meta({ description: 'The field at fault, when there is one: `name`, `config.access_token`, `message.buttons[3].title`, `events[2]`.' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every error answers with this body; `code` is stable, `message` may be reworded.' })

/** `{data, next_cursor}`, the body of every list. */
export const pageSchema = z
  .strictObject({
    data: z.array(z.unknown()).meta({ description: 'This page, oldest first unless the operation says otherwise.' }),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `?cursor=` for the next page; null on the last page.' }),
  })
  .meta({ id: 'Page', description: 'One page of a list.' })

/** The bearer scheme every `/api` operation but the reference itself requires. */
export const BEARER_SCHEME = {
  type: 'http',
  scheme: 'bearer',
  description:
    'An API token of your team: `Authorization: Bearer <token>`. The first admin token of team `default` is printed once at first start (or set with `SWITCHBOARD_ADMIN_TOKEN`); admins create more with `POST /api/teams/{id}/tokens`.',
} as const

function body(error: GatewayError): ErrorDto {
  return { error: { code: error.apiCode, message: error.message, ...(error.field !== undefined ? { field: error.field } : {}) } }
}

/** Each error status: its name in `components/responses`, what it means here, and examples from the catalogue. */
export const ERROR_RESPONSES: Record<ErrorStatus, { name: string; description: string; examples: Record<string, ErrorDto> }> = {
  400: {
    name: 'BadRequest',
    description: 'The body is not a JSON object, or the cursor is not one this list gave out.',
    examples: {
      malformed_request: body(GW_ERR_API_MALFORMED('The request body must be a JSON object ({…}), not an array, string or number.')),
      invalid_cursor: body(GW_ERR_API_INVALID_CURSOR(undefined, { field: 'cursor' })),
    },
  },
  401: {
    name: 'Unauthenticated',
    description: 'No token, or one that is unknown or revoked.',
    examples: { unauthenticated: body(GW_ERR_API_UNAUTHENTICATED('Send an API token as "Authorization: Bearer <token>"; this request has none.')) },
  },
  403: {
    name: 'Forbidden',
    description: 'The token may not do this (a member token, or an admin of a team other than `default`).',
    examples: { forbidden: body(GW_ERR_API_FORBIDDEN('Only an admin token may create tokens; this token is a member token.')) },
  },
  404: {
    name: 'NotFound',
    description: 'No such resource in your team (another team\'s id answers the same).',
    examples: { not_found: body(GW_ERR_API_NOT_FOUND('No bot bot_01jq3v9b1c2d3e4f5g6h7j8k9m0n exists in your team; check the id.')) },
  },
  409: {
    name: 'Conflict',
    description: 'The request conflicts with the current state: still in use, already taken, changed meanwhile.',
    examples: {
      conflict: body(GW_ERR_API_CONFLICT()),
      in_use: body(GW_ERR_API_IN_USE('Provider prov_01jq3v8n2p3q4r5s6t7v8w9x0y1z is used by at least one channel; delete those channels first.')),
      number_in_use: body(
        GW_ERR_API_NUMBER_IN_USE('+27812345678 is already connected to another channel of this team (channel chan_01jq3va2b3c4d5e6f7g8h9j0k1m2); a team can connect a number once.', { field: 'number' }),
      ),
      participant_opted_out: body(
        GW_ERR_API_PARTICIPANT_OPTED_OUT('+27821234567 opted out of this channel at 2026-03-01T08:00:00.000Z (they sent an opt-out keyword); nothing is sent until they write one of "START".', { field: 'to' }),
      ),
    },
  },
  413: {
    name: 'BodyTooLarge',
    description: 'The body is larger than this operation accepts.',
    examples: { body_too_large: body(GW_ERR_API_BODY_TOO_LARGE()) },
  },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body\'s Content-Type is not one this operation takes.',
    examples: { unsupported_media_type: body(GW_ERR_API_UNSUPPORTED_MEDIA_TYPE()) },
  },
  422: {
    name: 'Unprocessable',
    description: 'A field is unknown, missing or not valid (`field` names it), or the request cannot be done as given (a template not approved, credentials the provider refuses); `message` says what to change.',
    examples: {
      unknown_field: body(GW_ERR_API_UNKNOWN_FIELD('"nmae" is not a field this request takes; remove it (check its spelling).', { field: 'nmae' })),
      missing_field: body(GW_ERR_API_MISSING_FIELD('"name" is required: it must be text.', { field: 'name' })),
      invalid_value: body(GW_ERR_API_INVALID_VALUE('"limit" must be a whole number from 1 to 200.', { field: 'limit' })),
    },
  },
  502: {
    name: 'ProviderUnreachable',
    description: 'The provider (or bot) this operation had to ask could not be reached, or refused; the message carries its words.',
    examples: { provider_unreachable: body(GW_ERR_PROVIDER_UNREACHABLE('The provider could not be asked about this number; try again in a moment.')) },
  },
}
