/** Providers and their templates in the reference (api/providers.ts, api/templates.ts). */
import { providerKind, type ProviderType } from '../../providers/index.js'
import { createProviderSchema, patchProviderSchema, validateConfig } from '../providers.js'
import { credentialCheckExample, IDS, pageOf, providerExample, templateExample } from './examples.js'
import { describeField, idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Providers'
const providerId = idParams('provider', IDS.provider)

describeField(createProviderSchema.shape.config, {
  description:
    'The account\'s settings, by `type` (docs/meta-setup.md says where each is found). `meta_cloud_api`: `business_id`, `access_token`, `app_secret`, `verify_token`, `template_language_code` (default `en`). `twilio`: `account_sid`, `auth_token`. `turnio`: `auth_token`, `hmac_secret` (empty: unsigned webhooks). Secrets are stored encrypted and shown masked (`EAAB…Zq`); a PATCH that sends a masked value back keeps the stored one, and `null` removes an optional setting.',
})

/** The route checks a config with its type's own rules after the schema; so are the examples. */
function checkConfig(body: { type: string; config: Record<string, unknown> }): void {
  validateConfig(providerKind(body.type as ProviderType), body.config)
}

export const providerDocs: DocumentedGroup = {
  operations: [
    {
      method: 'post',
      path: '/api/providers',
      tag: TAG,
      summary: 'Add a provider account',
      description:
        'A Meta, Twilio or Turn.io account. Its credentials are checked first: a provider that refuses them stores nothing (422 `provider_refused`, in its own words); one that cannot be asked is stored anyway, and the answer\'s `credentials` says so. A provider that lists its templates (Meta, Twilio) has them synced at once; `templates` says how that went (`{synced}` or `{error}`), and a failed sync never fails the creation.',
      body: {
        schema: createProviderSchema,
        examples: {
          meta: {
            summary: 'Meta Cloud API',
            value: {
              type: 'meta_cloud_api',
              name: 'Meta (main WABA)',
              config: { business_id: '104857600321987', access_token: 'EAABsbExampleToken0123456789Zq', app_secret: 'a1b2c3d4e5f60718293a4b5c6d7e8f9f', verify_token: 'my-verify-token-42' },
            },
          },
          twilio: {
            summary: 'Twilio',
            value: { type: 'twilio', name: 'Twilio', config: { account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: '0123456789abcdef0123456789abcdef' } },
          },
          turnio: { summary: 'Turn.io', value: { type: 'turnio', name: 'Turn.io', config: { auth_token: 'turn-api-token-0123456789', hmac_secret: 'turn-webhook-secret-0123' } } },
        },
        check: checkConfig,
      },
      success: {
      status: 201,
      description: 'The provider, secrets masked, with the credential check and the template sync.',
      example: { ...providerExample, credentials: credentialCheckExample, templates: { synced: 4 } },
    },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/providers',
      tag: TAG,
      summary: 'List providers',
      query: pageQuery,
      success: { status: 200, description: 'A page of providers, secrets masked.', example: pageOf(providerExample) },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/providers/{id}',
      tag: TAG,
      summary: 'Get a provider',
      description:
        '`health` says whether its credentials work (`ok`, `token_invalid`, `signature_failures`, `unsigned_webhooks`), in plain words in `message`. `health.evidence` shows what worked (the last verified webhook, the last good send, the last credential check) and `signature_failures`: webhooks whose signature failed, with the addresses they came from. Those set the status only while no signed webhook verified in the last 30 minutes, and never over `token_invalid`: a stranger posting unsigned webhooks cannot mark a working provider broken.',
      params: providerId,
      success: { status: 200, description: 'The provider, secrets masked.', example: providerExample },
      errors: [404],
    },
    {
      method: 'patch',
      path: '/api/providers/{id}',
      tag: TAG,
      summary: 'Change a provider',
      description: 'Only the fields sent change; `config` is merged over the stored one and checked whole. The type cannot change (sending the current one is accepted).',
      params: providerId,
      body: {
        schema: patchProviderSchema,
        examples: {
          rename: { summary: 'Rename', value: { name: 'Meta (EU WABA)' } },
          rotate: { summary: 'A new access token, other secrets kept', value: { config: { access_token: 'EAABsbRotatedToken9876543210Xy', app_secret: 'a1b2…9f' } } },
        },
      },
      success: { status: 200, description: 'The provider, secrets masked.', example: providerExample },
      errors: [400, 404, 409, 422],
    },
    {
      method: 'post',
      path: '/api/providers/{id}/test',
      tag: TAG,
      summary: "Check a provider's credentials",
      description:
        'Asks the provider whether its stored credentials work (one cheap authenticated read) and records the outcome in `health.evidence.last_check`. A refused token also holds the provider\'s sends (`health.status` `token_invalid`) until its config changes. No body.',
      params: providerId,
      success: {
        status: 200,
        description: '`ok` with what was read, `refused` with the provider\'s words, or `unreachable` when it could not be asked.',
        example: credentialCheckExample,
      },
      errors: [404],
    },
    {
      method: 'delete',
      path: '/api/providers/{id}',
      tag: TAG,
      summary: 'Delete a provider',
      description: 'Refused (409 `in_use`) while a channel uses it.',
      params: providerId,
      success: { status: 204, description: 'Deleted.' },
      errors: [404, 409],
    },
    {
      method: 'get',
      path: '/api/providers/{id}/templates',
      tag: TAG,
      summary: "List a provider's templates",
      description: 'As last synced from the provider (Meta, Twilio); Turn.io templates are sent as given and not listed.',
      params: providerId,
      query: pageQuery,
      success: { status: 200, description: 'A page of templates.', example: pageOf(templateExample) },
      errors: [400, 404, 422],
    },
    {
      method: 'post',
      path: '/api/providers/{id}/templates/sync',
      tag: TAG,
      summary: "Sync a provider's templates",
      description: 'Reads every template from the provider and replaces the stored list. No body.',
      params: providerId,
      success: { status: 200, description: 'How many templates the provider has.', example: { synced: 4 } },
      errors: [404, 422, 502],
    },
  ],
}
