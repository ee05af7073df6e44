/**
 * The public face of the Meta Cloud API provider: only `providers/index.ts` imports from here.
 */
export { metaKind } from './meta-kind.js'
export {
  parseMetaWebhook,
  readMetaWebhookNames,
  type MetaParsedWebhook,
  type MetaTemplateUpdate,
  type MetaWebhookNames,
  type MetaWebhookOptions,
} from './meta-webhook.js'
export { signMetaBody, verifyMetaSignature } from './meta-signature.js'
export { scanMetaWebhookNames, type MetaRawNames } from './meta-raw-names.js'
export { classifyGraphError } from './meta-errors.js'
