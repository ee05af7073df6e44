/**
 * The one place that knows which provider types exist (STYLE B.1): everything else asks a `ProviderKind`
 * or a `Provider` and never branches on the type. Webhook and task code import from here, never from a
 * provider's folder.
 */
import { metaKind } from './meta/index.js'
import type { Provider, ProviderConfig, ProviderDeps, ProviderKind, ProviderType } from './provider.js'
import { turnKind } from './turn/index.js'
import { twilioKind } from './twilio/index.js'

// The contract's types and ProviderError, so callers need no deep import.
export * from './provider.js'
// The webhook layer's Meta functions: Meta's endpoint is the one shared by every Meta channel (SPEC §5).
export {
  parseMetaWebhook,
  readMetaWebhookNames,
  scanMetaWebhookNames,
  signMetaBody,
  verifyMetaSignature,
  type MetaParsedWebhook,
  type MetaWebhookNames,
  type MetaWebhookOptions,
} from './meta/index.js'
// Twilio's endpoint (one for every Twilio channel, form-encoded) and Turn.io's (one per channel, SPEC §5).
export {
  decodeTwilioForm,
  parseTwilioWebhook,
  readTwilioRoute,
  signTwilioRequest,
  verifyTwilioSignature,
  type TwilioForm,
  type TwilioParams,
  type TwilioParsedWebhook,
  type TwilioRoute,
  type TwilioWebhookOptions,
} from './twilio/index.js'
export { parseTurnWebhook, signTurnBody, verifyTurnSignature, type TurnParsedWebhook, type TurnWebhookOptions } from './turn/index.js'

/** Every provider type with its kind (SPEC §4 names the types). */
export const providerKinds: Readonly<Record<ProviderType, ProviderKind>> = {
  meta_cloud_api: metaKind,
  twilio: twilioKind,
  turnio: turnKind,
}

/** Whether `value` names a provider type (for request bodies and stored rows). */
export function isProviderType(value: unknown): value is ProviderType {
  return typeof value === 'string' && Object.hasOwn(providerKinds, value)
}

/** The kind of a provider type. */
export function providerKind(type: ProviderType): ProviderKind {
  return providerKinds[type]
}

/**
 * A `Provider` for one stored provider with its decrypted config. Throws a `stop-provider`
 * `ProviderError` when the stored config no longer validates.
 */
export function createProvider(type: ProviderType, config: ProviderConfig, deps: ProviderDeps): Provider {
  return providerKinds[type].create(config, deps)
}
