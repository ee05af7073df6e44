/** The webhook receivers, one module per provider path of SPEC §5. */
export { createMetaWebhookModule, META_WEBHOOK_PATH } from './meta-webhook-routes.js'
export { createTwilioWebhookModule, TWILIO_WEBHOOK_PATH, type TwilioWebhookOptions } from './twilio-webhook-routes.js'
export { createTurnWebhookModule, TURN_WEBHOOK_PATH } from './turn-webhook-routes.js'
export type { RoutedWebhook, WebhookDeps } from './webhook-deps.js'
export { markWindowClosures } from './window-statuses.js'
