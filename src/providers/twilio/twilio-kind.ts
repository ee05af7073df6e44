/**
 * The `twilio` provider type: config schema, secret fields, webhook URL and factory.
 */
import { ProviderError, type ProviderKind } from '../provider.js'
import { withScrubbedErrors } from '../provider-http.js'
import { parseTwilioConfig, readTwilioConfig, twilioSecretFields } from './twilio-config.js'
import { TwilioProvider, twilioCapabilities } from './twilio-provider.js'
import { TWILIO_WEBHOOK_PATH } from './twilio-wire.js'

/** Static facts and factories of Twilio providers. */
export const twilioKind: ProviderKind = {
  type: 'twilio',
  label: 'Twilio',
  parseConfig: parseTwilioConfig,
  secretFields: twilioSecretFields,
  // The account SID is no secret (it names the account in every URL) and keys the Content API.
  extraData: (config) => ({ account_id: config.account_sid ?? null }),
  // One endpoint for every Twilio channel: requests are routed by their `To` number (SPEC §5).
  webhookUrl: (publicUrl) => `${publicUrl}${TWILIO_WEBHOOK_PATH}`,
  // Requests are routed by their `To` number, so it may serve one channel in the gateway.
  numberScope: 'global',
  capabilities: twilioCapabilities,
  // A content SID names one language already.
  defaultTemplateLanguage: () => null,
  create(config, deps) {
    const parsed = readTwilioConfig(config)
    if (parsed === null) {
      throw new ProviderError("The Twilio provider's stored config is no longer valid; update the provider's config.", {
        provider: 'twilio',
        providerCode: 'config_invalid',
        retry: 'stop-provider',
      })
    }
    // Whatever it says in an error, no stored secret of the config reaches a message, a health or a log.
    return withScrubbedErrors(new TwilioProvider(parsed, deps), config, twilioSecretFields)
  },
}
