/**
 * The public face of the Turn.io provider: only `providers/index.ts` imports from here.
 */
export { turnKind } from './turn-kind.js'
export { classifyTurnError } from './turn-errors.js'
export { parseTurnWebhook, type TurnParsedWebhook, type TurnWebhookOptions } from './turn-webhook.js'
export { signTurnBody, verifyTurnSignature } from './turn-signature.js'
