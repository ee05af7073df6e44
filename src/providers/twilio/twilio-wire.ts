/**
 * Raw JSON shapes of Twilio's REST answers, in Twilio's spelling. Fields are optional: answers are read
 * defensively.
 * @see https://www.twilio.com/docs/messaging/api/message-resource
 */

/** Twilio's error body, e.g. `{"code": 20003, "message": "Authenticate", "status": 401}`. */
export interface TwilioErrorBody {
  code?: number
  message?: string
  more_info?: string
  status?: number
}

/** One page of `GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json`. */
export interface TwilioIncomingNumbersPage {
  incoming_phone_numbers?: TwilioIncomingNumber[]
  /** Path (from the API root) of the next page, or null on the last one. */
  next_page_uri?: string | null
  page?: number
  page_size?: number
}

/** One of the account's numbers. */
export interface TwilioIncomingNumber {
  sid?: string
  phone_number?: string
  friendly_name?: string
}

/** The 201 answer to `POST /2010-04-01/Accounts/{sid}/Messages.json`. */
export interface TwilioMessageResource {
  sid?: string
  status?: string
  error_code?: number | null
  error_message?: string | null
}
