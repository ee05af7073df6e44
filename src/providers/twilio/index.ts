/**
 * The public face of the Twilio provider: only `providers/index.ts` imports from here.
 */
export { twilioKind } from './twilio-kind.js'
export { classifyTwilioError } from './twilio-errors.js'
export { decodeTwilioForm, type TwilioForm } from './twilio-form.js'
export { parseTwilioWebhook, readTwilioRoute, type TwilioParsedWebhook, type TwilioRoute, type TwilioWebhookOptions } from './twilio-webhook.js'
export { signTwilioRequest, verifyTwilioSignature, type TwilioParams } from './twilio-signature.js'
