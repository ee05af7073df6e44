/**
 * The error catalogue: every error the gateway answers with has a code, an HTTP status and a sentence a
 * person can act on. Modelled on `@fastify/error`; `docs/errors.md` documents each code and a test keeps
 * the two in step.
 */

/** Base class for every error the gateway raises on purpose. */
export class GatewayError extends Error {
  /** Stable machine-readable code, e.g. `GW_ERR_API_NOT_FOUND`. */
  readonly code: string
  /** The short snake_case code shown in API error bodies, e.g. `not_found` (SPEC §4). */
  readonly apiCode: string
  readonly httpStatus: number
  /** The request field the error is about, when there is one. */
  readonly field: string | undefined

  constructor(
    code: string,
    apiCode: string,
    message: string,
    httpStatus: number,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
    this.apiCode = apiCode
    this.httpStatus = httpStatus
    this.field = options.field
  }
}

/** A catalogue entry: call it with the message details to get a throwable error. */
export interface ErrorDefinition {
  readonly code: string
  readonly apiCode: string
  readonly httpStatus: number
  (message?: string, options?: { field?: string; cause?: unknown }): GatewayError
}

/** Every defined error, keyed by code; the docs parity test walks it. */
export const errorCatalogue = new Map<string, ErrorDefinition>()

/** Defines a catalogue entry. `defaultMessage` is used when the thrower gives no better sentence. */
export function defineError(code: string, apiCode: string, defaultMessage: string, httpStatus: number): ErrorDefinition {
  const create = ((message?: string, options?: { field?: string; cause?: unknown }) =>
    new GatewayError(code, apiCode, message ?? defaultMessage, httpStatus, options)) as ErrorDefinition
  Object.defineProperties(create, {
    code: { value: code },
    apiCode: { value: apiCode },
    httpStatus: { value: httpStatus },
  })
  errorCatalogue.set(code, create)
  return create
}

// --- admin API -----------------------------------------------------------------------------------
export const GW_ERR_API_MALFORMED = defineError('GW_ERR_API_MALFORMED', 'malformed_request', 'The request body is not valid JSON.', 400)
export const GW_ERR_API_BODY_TOO_LARGE = defineError('GW_ERR_API_BODY_TOO_LARGE', 'body_too_large', 'The request body is larger than the gateway accepts.', 413)
export const GW_ERR_API_UNSUPPORTED_MEDIA_TYPE = defineError('GW_ERR_API_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', 'Send the request body as application/json.', 415)
export const GW_ERR_API_UNAUTHENTICATED = defineError('GW_ERR_API_UNAUTHENTICATED', 'unauthenticated', 'Send a valid API token as "Authorization: Bearer <token>".', 401)
export const GW_ERR_API_TOO_MANY_FAILURES = defineError('GW_ERR_API_TOO_MANY_FAILURES', 'too_many_failures', 'Too many requests from this address failed authentication; wait and try again with a valid token.', 429)
export const GW_ERR_API_FORBIDDEN = defineError('GW_ERR_API_FORBIDDEN', 'forbidden', 'This token is not allowed to do that.', 403)
export const GW_ERR_API_NOT_FOUND = defineError('GW_ERR_API_NOT_FOUND', 'not_found', 'Nothing was found at this address.', 404)
export const GW_ERR_API_METHOD_NOT_ALLOWED = defineError('GW_ERR_API_METHOD_NOT_ALLOWED', 'method_not_allowed', 'This address does not take that method.', 405)
export const GW_ERR_API_HEADERS_TOO_LARGE = defineError('GW_ERR_API_HEADERS_TOO_LARGE', 'headers_too_large', 'The request headers are larger than the gateway accepts (16 KB in all); send fewer or shorter headers.', 431)
export const GW_ERR_API_REQUEST_TIMEOUT = defineError('GW_ERR_API_REQUEST_TIMEOUT', 'request_timeout', 'The request did not arrive in time; send it again.', 408)
export const GW_ERR_API_UNKNOWN_FIELD = defineError('GW_ERR_API_UNKNOWN_FIELD', 'unknown_field', 'The request has a field this endpoint does not take.', 422)
export const GW_ERR_API_MISSING_FIELD = defineError('GW_ERR_API_MISSING_FIELD', 'missing_field', 'A required field is missing.', 422)
export const GW_ERR_API_INVALID_VALUE = defineError('GW_ERR_API_INVALID_VALUE', 'invalid_value', 'A value in the request is not valid.', 422)
export const GW_ERR_API_INVALID_CURSOR = defineError('GW_ERR_API_INVALID_CURSOR', 'invalid_cursor', 'The cursor is not one this list gave out; start again without it.', 400)
export const GW_ERR_API_URL_NOT_ALLOWED = defineError('GW_ERR_API_URL_NOT_ALLOWED', 'url_not_allowed', 'The URL points at a private, loopback or link-local address, which the gateway does not call for a team.', 422)
export const GW_ERR_API_CONFLICT = defineError('GW_ERR_API_CONFLICT', 'conflict', 'The request conflicts with the current state.', 409)
export const GW_ERR_API_IN_USE = defineError('GW_ERR_API_IN_USE', 'in_use', 'This resource is still used by a channel; delete or move those channels first.', 409)
export const GW_ERR_API_NUMBER_IN_USE = defineError('GW_ERR_API_NUMBER_IN_USE', 'number_in_use', 'This number is already connected to another channel.', 409)
export const GW_ERR_API_INVALID_PHONE_NUMBER = defineError('GW_ERR_API_INVALID_PHONE_NUMBER', 'invalid_phone_number', 'This is not a valid phone number; write it in international form, e.g. +27812345678.', 422)
export const GW_ERR_API_RECIPIENT_INVALID = defineError('GW_ERR_API_RECIPIENT_INVALID', 'invalid_recipient', 'The recipient must be an E.164 phone number or a BSUID.', 422)
export const GW_ERR_API_SHUTTING_DOWN = defineError('GW_ERR_API_SHUTTING_DOWN', 'shutting_down', 'The gateway is shutting down; send the request again to another instance or in a moment.', 503)

export const GW_ERR_API_PUBLIC_URL_REQUIRED = defineError('GW_ERR_API_PUBLIC_URL_REQUIRED', 'public_url_required', 'This needs the gateway\'s public address: set PUBLIC_URL.', 422)
export const GW_ERR_API_UNSUPPORTED_BY_PROVIDER = defineError('GW_ERR_API_UNSUPPORTED_BY_PROVIDER', 'unsupported_by_provider', 'The channel\'s provider cannot send this kind of message.', 422)

export const GW_ERR_API_TEMPLATE_NOT_FOUND = defineError('GW_ERR_API_TEMPLATE_NOT_FOUND', 'template_not_found', 'No template of that name and language is known for this provider.', 422)
export const GW_ERR_API_TEMPLATE_NOT_APPROVED = defineError('GW_ERR_API_TEMPLATE_NOT_APPROVED', 'template_not_approved', 'The template is not approved, so WhatsApp would refuse it.', 422)
export const GW_ERR_API_TEMPLATE_PARAMS_MISMATCH = defineError('GW_ERR_API_TEMPLATE_PARAMS_MISMATCH', 'template_params_mismatch', 'The parameters do not match what the template takes.', 422)
export const GW_ERR_API_OUTSIDE_SERVICE_WINDOW = defineError('GW_ERR_API_OUTSIDE_SERVICE_WINDOW', 'outside_service_window', 'The participant last wrote more than 24 hours ago; send an approved template.', 422)
export const GW_ERR_API_PARTICIPANT_OPTED_OUT = defineError('GW_ERR_API_PARTICIPANT_OPTED_OUT', 'participant_opted_out', 'The participant opted out of messages from this channel.', 409)

// --- media ---------------------------------------------------------------------------------------
export const GW_ERR_MEDIA_TOO_LARGE = defineError('GW_ERR_MEDIA_TOO_LARGE', 'media_too_large', 'The media is larger than SWITCHBOARD_MEDIA_MAX_BYTES.', 413)
export const GW_ERR_MEDIA_CHECKSUM = defineError('GW_ERR_MEDIA_CHECKSUM', 'media_checksum_mismatch', 'The media\'s bytes do not match the sha256 the provider gave.', 422)
export const GW_ERR_MEDIA_FETCH_FAILED = defineError('GW_ERR_MEDIA_FETCH_FAILED', 'media_fetch_failed', 'The media could not be fetched from the provider.', 502)
export const GW_ERR_MEDIA_SIGNATURE = defineError('GW_ERR_MEDIA_SIGNATURE', 'invalid_signature', 'This media link has expired or its signature does not match; ask for a fresh one.', 403)
export const GW_ERR_MEDIA_STORE_FAILED = defineError('GW_ERR_MEDIA_STORE_FAILED', 'media_store_failed', 'The media store did not accept or return the bytes; check its settings and that it is reachable.', 503)

// --- providers -----------------------------------------------------------------------------------
export const GW_ERR_STORE_SECRET_KEY_MISSING = defineError('GW_ERR_STORE_SECRET_KEY_MISSING', 'secret_key_missing', 'A stored secret is encrypted with a key that is not configured.', 500)
// Unreachable: no answer, a timeout, a 5xx, a rate limit or an answer the gateway cannot read (try again).
// Refused: the provider answered and said no (a bad token, an unknown account or id): fix the settings.
export const GW_ERR_PROVIDER_UNREACHABLE = defineError('GW_ERR_PROVIDER_UNREACHABLE', 'provider_unreachable', 'The messaging provider could not be reached or did not answer in a way the gateway can read; try again in a moment.', 502)
export const GW_ERR_PROVIDER_REFUSED = defineError('GW_ERR_PROVIDER_REFUSED', 'provider_refused', 'The messaging provider answered and refused the request; its own words say which setting to fix.', 422)
export const GW_ERR_PROVIDER_NUMBER_NOT_FOUND = defineError('GW_ERR_PROVIDER_NUMBER_NOT_FOUND', 'phone_number_not_found', 'The number was not found at the provider.', 422)

// --- webhooks ------------------------------------------------------------------------------------
export const GW_ERR_WEBHOOK_SIGNATURE = defineError('GW_ERR_WEBHOOK_SIGNATURE', 'invalid_signature', 'The webhook signature is missing or does not match.', 401)
export const GW_ERR_WEBHOOK_MALFORMED = defineError('GW_ERR_WEBHOOK_MALFORMED', 'malformed_webhook', 'The webhook body is not a JSON object.', 400)
export const GW_ERR_WEBHOOK_VERIFY_FAILED = defineError('GW_ERR_WEBHOOK_VERIFY_FAILED', 'verification_failed', 'The verify token does not match any provider.', 403)
export const GW_ERR_WEBHOOK_UNKNOWN_CHANNEL = defineError('GW_ERR_WEBHOOK_UNKNOWN_CHANNEL', 'unknown_channel', 'No channel is connected at this address.', 404)
// Twilio answers a refused signature with 403 (as twilio-node does), where Meta and Turn.io get 401.
export const GW_ERR_WEBHOOK_SIGNATURE_FORBIDDEN = defineError('GW_ERR_WEBHOOK_SIGNATURE_FORBIDDEN', 'invalid_signature', 'The webhook signature is missing or does not match.', 403)
export const GW_ERR_WEBHOOK_ENCODING = defineError('GW_ERR_WEBHOOK_ENCODING', 'invalid_encoding', 'The webhook body is not UTF-8 text in the encoding the provider uses.', 400)
export const GW_ERR_WEBHOOK_MISSING_FIELD = defineError('GW_ERR_WEBHOOK_MISSING_FIELD', 'missing_field', 'The webhook lacks a field the provider always sends.', 400)
export const GW_ERR_WEBHOOK_INVALID_FIELD = defineError('GW_ERR_WEBHOOK_INVALID_FIELD', 'invalid_field', 'A field of the webhook has a value the provider never sends.', 400)
export const GW_ERR_WEBHOOK_BUSY = defineError('GW_ERR_WEBHOOK_BUSY', 'webhook_busy', 'Too many large webhook bodies are being worked on; send it again shortly.', 503)
export const GW_ERR_WEBHOOK_REPEATED_FIELD = defineError('GW_ERR_WEBHOOK_REPEATED_FIELD', 'repeated_field', 'A field of the webhook appears more than once.', 400)

// --- bots ----------------------------------------------------------------------------------------
export const GW_ERR_BOT_FAILED = defineError('GW_ERR_BOT_FAILED', 'bot_failed', 'The bot did not answer successfully.', 502)
export const GW_ERR_BOT_TIMEOUT = defineError('GW_ERR_BOT_TIMEOUT', 'bot_timeout', 'The bot did not answer in time.', 504)
export const GW_ERR_BOT_BAD_RESPONSE = defineError('GW_ERR_BOT_BAD_RESPONSE', 'bot_bad_response', 'The bot answered with a body that is not {"replies": [...]}.', 502)
export const GW_ERR_BOT_AUTH_FAILED = defineError('GW_ERR_BOT_AUTH_FAILED', 'bot_auth_failed', 'The model server refused the bot\'s API key.', 502)
export const GW_ERR_BOT_QUOTA_EXHAUSTED = defineError('GW_ERR_BOT_QUOTA_EXHAUSTED', 'bot_quota_exhausted', 'The model server says the API key\'s quota is used up.', 502)
export const GW_ERR_BOT_RATE_LIMITED = defineError('GW_ERR_BOT_RATE_LIMITED', 'bot_rate_limited', 'The model server is rate limiting the bot\'s requests.', 502)

// --- store ---------------------------------------------------------------------------------------
export const GW_ERR_STORE_UNAVAILABLE = defineError('GW_ERR_STORE_UNAVAILABLE', 'store_unavailable', 'The database is not reachable; try again shortly.', 503)

// --- anything else -------------------------------------------------------------------------------
export const GW_ERR_INTERNAL = defineError('GW_ERR_INTERNAL', 'internal_error', 'Something went wrong inside the gateway; it has been logged.', 500)

/** True for errors raised through the catalogue (duck-typed like Hono's `'getResponse' in err`). */
export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError
}
