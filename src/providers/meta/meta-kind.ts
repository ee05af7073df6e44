/**
 * The `meta_cloud_api` provider type: config schema, secret fields, webhook URL and factory.
 */
import { ProviderError, type ProviderKind } from '../provider.js'
import { withScrubbedErrors } from '../provider-http.js'
import { metaExtraData, metaSecretFields, parseMetaConfig, readMetaConfig } from './meta-config.js'
import { MetaProvider, metaCapabilities } from './meta-provider.js'

/** Static facts and factories of Meta Cloud API providers. */
export const metaKind: ProviderKind = {
  type: 'meta_cloud_api',
  label: 'Meta',
  parseConfig: parseMetaConfig,
  secretFields: metaSecretFields,
  extraData: metaExtraData,
  // One endpoint for every Meta channel: webhooks are routed by `metadata.phone_number_id` (SPEC §5).
  webhookUrl: (publicUrl) => `${publicUrl}/channels/whatsapp/meta/incoming_message`,
  // Webhooks are routed by the number's phone_number_id, so it may serve one channel in the gateway.
  numberScope: 'global',
  capabilities: metaCapabilities,
  defaultTemplateLanguage: (config) => readMetaConfig(config)?.template_language_code ?? null,
  create(config, deps) {
    const parsed = readMetaConfig(config)
    if (parsed === null) {
      // Validated on write, so only a schema change or a manual edit gets here: nothing can be sent
      // until the config is fixed, which is what `stop-provider` means.
      throw new ProviderError("The Meta Cloud API provider's stored config is no longer valid; update the provider's config.", {
        provider: 'meta_cloud_api',
        providerCode: 'config_invalid',
        retry: 'stop-provider',
      })
    }
    // Whatever it says in an error, no stored secret of the config reaches a message, a health or a log.
    return withScrubbedErrors(new MetaProvider(parsed, deps), config, metaSecretFields)
  },
}
