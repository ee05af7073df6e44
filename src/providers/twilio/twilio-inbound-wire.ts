/**
 * Form fields of an inbound Twilio WhatsApp message beyond those every request shares (`twilio-wire.ts`):
 * media, list replies, forwarding and click-to-WhatsApp ad referrals, in Twilio's spelling.
 * @see https://www.twilio.com/docs/messaging/guides/webhook-request#whatsapp-specific-parameters
 */
import type { TwilioWebhookField } from './twilio-wire.js'

/**
 * Every field the inbound parser reads by name. `ListId` / `ListTitle` (a list row chosen) follow the
 * naming of the button fields; they are not confirmed by a captured request yet.
 */
export type TwilioInboundField =
  | TwilioWebhookField
  | 'MediaUrl0' | 'MediaContentType0' | 'ListId' | 'ListTitle' | 'FrequentlyForwarded'

/** `MediaUrl{N}` / `MediaContentType{N}`: Twilio numbers each media of a message from 0. */
export const MEDIA_URL_FIELD = 'MediaUrl'
/** The content type of `MediaUrl{N}`. */
export const MEDIA_CONTENT_TYPE_FIELD = 'MediaContentType'

/**
 * Fields of a message that came from a click-to-WhatsApp ad (`ReferralSourceUrl`, `ReferralHeadline`,
 * `ReferralCtwaClid`, …) share this prefix; they are kept in the payload's `raw`.
 */
export const REFERRAL_FIELD_PREFIX = 'Referral'
