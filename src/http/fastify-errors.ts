/**
 * Maps Fastify's own errors (body parsing, limits, content types) to catalogue errors, so a malformed
 * request gets the same `{error: {code, message}}` shape as everything else.
 */
import type { FastifyError } from 'fastify'
import {
  GW_ERR_API_BODY_TOO_LARGE,
  GW_ERR_API_MALFORMED,
  GW_ERR_API_UNSUPPORTED_MEDIA_TYPE,
  type GatewayError,
} from '../core/errors.js'

export function fastifyErrorToGatewayError(error: FastifyError): GatewayError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return GW_ERR_API_BODY_TOO_LARGE('The request body is larger than the gateway accepts (3 MB).')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return GW_ERR_API_UNSUPPORTED_MEDIA_TYPE()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return GW_ERR_API_MALFORMED('The request has a JSON content type but an empty body; send a JSON object.')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return GW_ERR_API_MALFORMED('The Content-Length header does not match the body.')
    default:
      break
  }
  // JSON syntax errors from the default parser carry status 400 and a SyntaxError message.
  if (error.statusCode === 400 && (error.name === 'SyntaxError' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY')) {
    return GW_ERR_API_MALFORMED('The request body is not valid JSON; check quotes and commas.')
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return GW_ERR_API_MALFORMED(`The request could not be read: ${error.message}`)
  }
  return undefined
}
