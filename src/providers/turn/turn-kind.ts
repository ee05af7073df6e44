/**
 * The `turnio` provider type: config schema, secret fields, webhook URL and factory.
 */
import { ProviderError, type ProviderKind } from '../provider.js'
import { withScrubbedErrors } from '../provider-http.js'
import { parseTurnConfig, readTurnConfig, turnSecretFields } from './turn-config.js'
import { TurnProvider, turnCapabilities } from './turn-provider.js'

/** Static facts and factories of Turn.io providers. */
export const turnKind: ProviderKind = {
  type: 'turnio',
  label: 'Turn.io',
  parseConfig: parseTurnConfig,
  secretFields: turnSecretFields,
  extraData: () => ({}),
  // Turn's payloads do not name the business number, so each channel gets its own URL (SPEC §4).
  webhookUrl: (publicUrl, channelId) => `${publicUrl}/channels/whatsapp/turn/${encodeURIComponent(channelId)}/incoming_message`,
  // Routed by the channel's own URL, never by the number (taken as given): a claim of one team must
  // not keep another team, maybe the number's real owner, from connecting it.
  numberScope: 'team',
  capabilities: turnCapabilities,
  // Turn.io's config names no template language.
  defaultTemplateLanguage: () => null,
  create(config, deps) {
    const parsed = readTurnConfig(config)
    if (parsed === null) {
      throw new ProviderError("The Turn.io provider's stored config is no longer valid; update the provider's config.", {
        provider: 'turnio',
        providerCode: 'config_invalid',
        retry: 'stop-provider',
      })
    }
    // Whatever it says in an error, no stored secret of the config reaches a message, a health or a log.
    return withScrubbedErrors(new TurnProvider(parsed, deps), config, turnSecretFields)
  },
}
