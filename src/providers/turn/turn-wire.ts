/**
 * Raw JSON shapes of Turn.io's API answers. Turn speaks the WhatsApp Business API's (On-Premises) JSON;
 * fields are optional because answers are read defensively.
 * @see https://whatsapp.turn.io/docs/api/messages
 */
import type { WhatsAppMessageFields } from '../whatsapp-message.js'

/** The body of `POST /v1/messages` for a text message (protocols §6.3). */
export interface TurnSendTextRequest {
  preview_url: boolean
  recipient_type: 'individual'
  /** The recipient's number, digits only. */
  to: string
  type: 'text'
  text: { body: string }
}

/**
 * The body of `POST /v1/messages` for any other type: WhatsApp's shapes (`../whatsapp-message.ts`), as
 * Turn documents its API "aligned with the official WhatsApp Business API".
 */
export type TurnSendRequest = TurnSendTextRequest | ({ recipient_type: 'individual'; to: string } & WhatsAppMessageFields)

/** `POST /v1/media` (raw bytes) → `{"media": [{"id": "f043afd0-…"}]}`. */
export interface TurnMediaUploadResponse {
  media?: { id?: string }[]
}

/** The success answer: `{"messages": [{"id": "gBEG…"}]}`. */
export interface TurnSendResponse {
  messages?: { id?: string }[]
}

/** An error answer: WhatsApp's `errors[]`, or a plain `error`. */
export interface TurnErrorBody {
  errors?: { code?: number; title?: string; details?: string; message?: string }[]
  error?: string | { code?: number; message?: string; title?: string }
}
