/** Bots in the reference (api/bots.ts); docs/bots.md is the contract a bot implements. */
import { llmConfigSchema } from '../../bots/index.js'
import { GW_ERR_BOT_TIMEOUT } from '../../core/errors.js'
import { createBotSchema, httpConfigSchema, patchBotSchema, testBotSchema } from '../bots.js'
import { parseValue } from '../validation.js'
import { botExample, IDS, pageOf } from './examples.js'
import { describeField, idParams, pageQuery, type DocumentedGroup } from './operation.js'

const TAG = 'Bots'
const botId = idParams('bot', IDS.bot)

const httpBotConfig = httpConfigSchema.meta({ id: 'HttpBotConfig', description: 'An `http` bot: Switchboard POSTs each message to `url`, signed with `secret` (docs/bots.md).' })
const llmBotConfig = llmConfigSchema.meta({ id: 'LlmBotConfig', description: 'An `llm` bot: an OpenAI-compatible chat model answers (docs/llm-bot.md).' })

describeField(createBotSchema.shape.config.unwrap(), {
  description:
    'By `type`: none for `echo` (leave it out or send {}), `HttpBotConfig` for `http`, `LlmBotConfig` for `llm`. Secrets are shown masked, and so is a password in a URL (`https://user:••••@host/…`; a user name alone, being the credential then, as `https://••••@host/…`); a PATCH merges its fields over the stored config, and a masked secret or URL sent back keeps the stored one (a masked URL that is not the stored one is refused with 422).',
  oneOf: [{ $ref: '#/components/schemas/HttpBotConfig' }, { $ref: '#/components/schemas/LlmBotConfig' }, { type: 'object', maxProperties: 0 }],
})

/** The route checks `config` with its type's schema after the body's; so are the examples. */
function checkConfig(body: { type: string; config?: unknown }): void {
  if (body.type === 'http') parseValue(httpConfigSchema, body.config, 'config')
  if (body.type === 'llm') parseValue(llmConfigSchema, body.config, 'config')
}

export const botDocs: DocumentedGroup = {
  schemas: [httpBotConfig, llmBotConfig],
  operations: [
    {
      method: 'post',
      path: '/api/bots',
      tag: TAG,
      summary: 'Add a bot',
      description: 'What answers a channel\'s messages: `echo` (repeats them; for trying things out), `http` (your service) or `llm` (a model).',
      body: {
        schema: createBotSchema,
        examples: {
          http: {
            summary: 'Your service over HTTP',
            value: { name: 'Support bot', type: 'http', config: { url: 'https://bots.example.com/whatsapp', secret: 'b0t-signing-secret-0123456789c9' } },
          },
          llm: {
            summary: 'An OpenAI-compatible model',
            value: {
              name: 'Assistant',
              type: 'llm',
              config: { base_url: 'https://api.openai.com/v1', api_key: 'sk-example-0123456789', model: 'gpt-4o-mini', system_prompt: 'You answer questions about our shop, briefly.' },
            },
          },
          echo: { summary: 'An echo bot', value: { name: 'Echo', type: 'echo' } },
        },
        check: checkConfig,
      },
      success: { status: 201, description: 'The bot, secrets masked.', example: botExample },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/bots',
      tag: TAG,
      summary: 'List bots',
      query: pageQuery,
      success: { status: 200, description: 'A page of bots, secrets masked.', example: pageOf(botExample) },
      errors: [400, 422],
    },
    {
      method: 'get',
      path: '/api/bots/{id}',
      tag: TAG,
      summary: 'Get a bot',
      description: '`health` is what its last call showed: `ok`, `unreachable`, `auth_failed`, `quota_exhausted`, `bad_response`.',
      params: botId,
      success: { status: 200, description: 'The bot, secrets masked.', example: botExample },
      errors: [404],
    },
    {
      method: 'patch',
      path: '/api/bots/{id}',
      tag: TAG,
      summary: 'Change a bot',
      description: 'Only the fields sent change. The type cannot change (sending the current one is accepted).',
      params: botId,
      body: {
        schema: patchBotSchema,
        examples: {
          url: { summary: 'Point it at a new URL, secret kept', value: { config: { url: 'https://bots-v2.example.com/whatsapp', secret: 'b0t-…c9' } } },
          rename: { summary: 'Rename', value: { name: 'Support bot (v2)' } },
        },
      },
      success: { status: 200, description: 'The bot, secrets masked.', example: botExample },
      errors: [400, 404, 422],
    },
    {
      method: 'post',
      path: '/api/bots/{id}/test',
      tag: TAG,
      summary: 'Try a bot',
      description: 'Calls the bot once with a text message from nobody in particular, and answers with its replies, or with why it failed (502). The bot\'s health records the outcome.',
      params: botId,
      body: { schema: testBotSchema, examples: { hello: { summary: 'A greeting', value: { text: 'Hello!' } } } },
      success: { status: 200, description: 'The replies the bot would send.', example: { replies: [{ type: 'text', text: 'Hi! How can I help?' }] } },
      errors: [400, 404, 422],
      otherResponses: {
        502: {
          description: 'The bot failed; `health` is what that means for it (`unreachable`, `auth_failed`, `bad_response`…).',
          example: { error: { code: GW_ERR_BOT_TIMEOUT.apiCode, message: GW_ERR_BOT_TIMEOUT().message, health: 'unreachable' } },
        },
      },
    },
    {
      method: 'delete',
      path: '/api/bots/{id}',
      tag: TAG,
      summary: 'Delete a bot',
      description: 'Refused (409 `in_use`) while a channel uses it.',
      params: botId,
      success: { status: 204, description: 'Deleted.' },
      errors: [404, 409],
    },
  ],
}
