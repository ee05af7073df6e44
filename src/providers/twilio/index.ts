/**
 * The public face of the Twilio provider: only `providers/index.ts` imports from here.
 */
export { twilioKind } from './twilio-kind.js'
export { classifyTwilioError } from './twilio-errors.js'
