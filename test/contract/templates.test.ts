/**
 * `listTemplates` of each provider against its fake over real HTTP: Meta's `message_templates` (every
 * page, a `next` link on Meta's origin re-based, named and positional params, Graph's refusal in its own
 * words), Twilio's `ContentAndApprovals` (every page, approvals, numbered variables), Turn.io's empty
 * list; and the template status webhook parser (ids read digit-exact).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Agent } from 'undici'
import { GatewayError } from '../../src/core/errors.js'
import { createProvider, parseMetaWebhook, providerKind, type ProviderDeps } from '../../src/providers/index.js'
import { FakeGraphApi, type FakeMessageTemplate } from '../helpers/fake-graph.js'
import { FakeTwilioApi } from '../helpers/fake-twilio.js'

const BUSINESS_ID = '104857600321987'
const TOKEN = 'EAABtestTOKEN0123456789abcdefZq'
const META_CONFIG = { business_id: BUSINESS_ID, access_token: TOKEN, app_secret: 'app-secret-1', verify_token: 'verify-1', template_language_code: 'pt_BR' }
const ACCOUNT_SID = `AC${'a1'.repeat(16)}`
const TWILIO_CONFIG = { account_sid: ACCOUNT_SID, auth_token: 'twilio-auth-token-1' }
const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/meta/${name}`, import.meta.url), 'utf8')
const PAGE1 = JSON.parse(fixtureText('graph_message_templates_page1.json')) as { data: FakeMessageTemplate[]; paging: { next: string } }

/** Two more templates, for a second page: one positional with a text header, one rejected. */
const PAGE2: FakeMessageTemplate[] = [
  {
    name: 'visit_summary',
    parameter_format: 'POSITIONAL',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Visit {{1}}', example: { header_text: ['12 May'] } },
      { type: 'BODY', text: 'Dear {{1}}, your next visit is {{3}} at {{2}}. Bring {{3}} card.', example: { body_text: [['Ana', 'the clinic', '2 June']] } },
    ],
    language: 'en-US',
    status: 'approved',
    category: 'UTILITY',
    id: '9007199254740993',
  },
  { name: 'spring_promo_01', parameter_format: 'NAMED', components: [{ type: 'BODY', text: 'Spring sale, {{name}}!' }], language: 'en_US', status: 'REJECTED', category: 'MARKETING', id: '2318726450918273' },
]

let agent: Agent
let graph: FakeGraphApi
let twilio: FakeTwilioApi
let deps: ProviderDeps

before(async () => {
  agent = new Agent()
  graph = await FakeGraphApi.start()
  graph.validTokens.add(TOKEN)
  twilio = await FakeTwilioApi.start()
  twilio.addAccount(ACCOUNT_SID, TWILIO_CONFIG.auth_token, [])
  deps = {
    dispatcher: agent,
    clock: { now: () => 1_768_480_000_000 },
    timeoutMs: 2000,
    urls: { metaGraphUrl: graph.baseUrl, metaGraphVersion: 'v25.0', twilioApiUrl: twilio.baseUrl, twilioContentUrl: twilio.baseUrl, turnApiUrl: 'http://127.0.0.1:9' },
  }
})
after(async () => {
  await graph.close()
  await twilio.close()
  await agent.close()
})

describe('Meta listTemplates', () => {
  it('serves page 1 with the fixture data and shape', async () => {
    graph.addTemplates(BUSINESS_ID, [...PAGE1.data, ...PAGE2], { pageSize: 3, nextOrigin: 'https://graph.facebook.com' })
    const { request } = await import('undici')
    const res = await request(`${graph.baseUrl}/v25.0/${BUSINESS_ID}/message_templates?limit=3`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const body = (await res.body.json()) as { data: unknown; paging: { cursors: unknown; next: string } }
    assert.deepEqual(body.data, PAGE1.data)
    assert.deepEqual(Object.keys(body.paging).sort(), Object.keys(PAGE1.paging).sort())
    assert.equal(new URL(body.paging.next).origin, new URL(PAGE1.paging.next).origin)
  })

  it('lists every page, following a next link on Meta origin back to the configured Graph URL', async () => {
    graph.addTemplates(BUSINESS_ID, [...PAGE1.data, ...PAGE2], { pageSize: 3, nextOrigin: 'https://graph.facebook.com' })
    graph.reset()
    const templates = await createProvider('meta_cloud_api', META_CONFIG, deps).listTemplates()
    const pages = graph.requests.filter((r) => r.path === `/v25.0/${BUSINESS_ID}/message_templates`)
    assert.equal(pages.length, 2, 'both pages fetched from the fake (not from graph.facebook.com)')
    assert.equal(pages[0]!.headers.authorization, `Bearer ${TOKEN}`)
    assert.equal(pages[0]!.query.fields, 'name,language,status,category,parameter_format,components,id')
    assert.deepEqual(
      templates.map((t) => [t.name, t.language, t.status, t.parameterFormat, t.params]),
      [
        ['order_update', 'pt_BR', 'APPROVED', 'NAMED', ['first_name', 'order_id', 'delivery_date']],
        ['new_bot_message', 'en', 'APPROVED', 'NAMED', ['bot_message']],
        ['appointment_reminder_v2', 'en_US', 'PAUSED', 'POSITIONAL', ['1', '2']],
        // `en-US` normalised; the header's {{1}} goes in `header`, so params are the body's, in number order.
        ['visit_summary', 'en_US', 'APPROVED', 'POSITIONAL', ['1', '2', '3']],
        ['spring_promo_01', 'en_US', 'REJECTED', 'NAMED', ['name']],
      ],
    )
    const order = templates[0]!
    assert.equal(order.category, 'UTILITY')
    assert.equal(order.providerTemplateId, '1689556908129832')
    assert.deepEqual(order.components, PAGE1.data[0]!.components)
    // A 16-digit id beyond 2^53 stays exact: Graph sends ids as strings.
    assert.equal(templates[3]!.providerTemplateId, '9007199254740993')
  })

  it('reads named params from example.body_text_named_params when the text has none', async () => {
    graph.addTemplates(BUSINESS_ID, [
      {
        name: 'examples_only',
        parameter_format: 'NAMED',
        components: [{ type: 'BODY', example: { body_text_named_params: [{ param_name: 'city', example: 'Recife' }] } }],
        language: 'pt_BR',
        status: 'PENDING',
        id: '1',
      },
    ])
    const [only] = await createProvider('meta_cloud_api', META_CONFIG, deps).listTemplates()
    assert.deepEqual(only?.params, ['city'])
    assert.equal(only?.status, 'PENDING')
    assert.equal(only?.category, null)
  })

  it('refuses with provider_refused carrying Graph own message, the token never shown; provider_unreachable when Graph fails', async () => {
    const refused = { ...META_CONFIG, access_token: 'EAABwrongTOKENabcdefghijkl0123' }
    await assert.rejects(createProvider('meta_cloud_api', refused, deps).listTemplates(), (error) => {
      assert.ok(error instanceof GatewayError)
      assert.equal(error.apiCode, 'provider_refused')
      assert.equal(error.httpStatus, 422)
      assert.match(error.message, /refused to list the message templates: .*Session has expired.*\(code 190\)/)
      assert.equal(error.message.includes(refused.access_token), false)
      return true
    })
    graph.failNext(1, {
      status: 400,
      body: { error: { message: '(#100) Tried accessing nonexisting field (message_templates)', type: 'OAuthException', code: 100, fbtrace_id: 'x' } },
      path: 'message_templates',
    })
    await assert.rejects(createProvider('meta_cloud_api', META_CONFIG, deps).listTemplates(), /Tried accessing nonexisting field \(message_templates\) \(code 100\)/)
    graph.failNext(1, { status: 500, path: 'message_templates' })
    await assert.rejects(createProvider('meta_cloud_api', META_CONFIG, deps).listTemplates(), (error) => {
      assert.ok(error instanceof GatewayError)
      assert.equal(error.apiCode, 'provider_unreachable')
      assert.equal(error.httpStatus, 502)
      assert.match(error.message, /could not list the message templates \(.*\(code 2\)\); try again in a moment\./)
      return true
    })
  })

  it('names the default template language of each kind', () => {
    assert.equal(providerKind('meta_cloud_api').defaultTemplateLanguage(META_CONFIG), 'pt_BR')
    assert.equal(providerKind('meta_cloud_api').defaultTemplateLanguage({ ...META_CONFIG, template_language_code: undefined } as never), 'en')
    assert.equal(providerKind('twilio').defaultTemplateLanguage(TWILIO_CONFIG), null)
    assert.equal(providerKind('turnio').defaultTemplateLanguage({ auth_token: 'x' }), null)
  })
})

describe('Twilio listTemplates', () => {
  it('lists every page of ContentAndApprovals with its WhatsApp approval', async () => {
    twilio.contentPageSize = 2
    twilio.addContent(ACCOUNT_SID, [
      {
        sid: `HX${'1'.repeat(32)}`,
        friendly_name: 'appointment_reminder',
        language: 'en',
        variables: { '10': 'x', '2': '16/01', '1': 'Ana' },
        types: { 'twilio/text': { body: 'Hi {{1}}, see you {{2}} ({{10}})' } },
        approval_requests: { whatsapp: { name: 'appointment_reminder', category: 'UTILITY', status: 'approved', rejection_reason: '' } },
      },
      {
        sid: `HX${'2'.repeat(32)}`,
        language: 'pt-BR',
        variables: {},
        types: { 'twilio/text': { body: 'Olá' } },
        approval_requests: { whatsapp: { name: 'ola', category: 'marketing', status: 'rejected', rejection_reason: 'promotional' } },
      },
      { sid: `HX${'3'.repeat(32)}`, language: 'en', types: { 'twilio/text': { body: 'In-session only' } }, approval_requests: {} },
    ])
    twilio.requests.length = 0
    const templates = await createProvider('twilio', TWILIO_CONFIG, deps).listTemplates()
    const pages = twilio.requests.filter((r) => r.path === '/v1/ContentAndApprovals')
    assert.equal(pages.length, 2, 'both pages fetched')
    assert.equal(pages[0]!.headers.authorization, `Basic ${Buffer.from(`${ACCOUNT_SID}:${TWILIO_CONFIG.auth_token}`).toString('base64')}`)
    assert.deepEqual(
      templates.map((t) => [t.name, t.language, t.status, t.category, t.parameterFormat, t.params]),
      [
        [`HX${'1'.repeat(32)}`, 'en', 'APPROVED', 'UTILITY', 'POSITIONAL', ['1', '2', '10']],
        [`HX${'2'.repeat(32)}`, 'pt_BR', 'REJECTED', 'MARKETING', 'POSITIONAL', []],
        [`HX${'3'.repeat(32)}`, 'en', 'UNSUBMITTED', null, 'POSITIONAL', []],
      ],
    )
    assert.equal(templates[0]!.providerTemplateId, `HX${'1'.repeat(32)}`)
  })

  it('refuses with provider_refused and Twilio words on bad credentials', async () => {
    await assert.rejects(createProvider('twilio', { ...TWILIO_CONFIG, auth_token: 'wrong-token' }, deps).listTemplates(), (error) => {
      assert.ok(error instanceof GatewayError)
      assert.equal(error.apiCode, 'provider_refused')
      assert.equal(error.httpStatus, 422)
      assert.match(error.message, /Twilio refused to list the content templates: Authenticate \(code 20003\)\. Check the account_sid and auth_token\./)
      return true
    })
  })
})

describe('Turn.io listTemplates', () => {
  it('answers an empty list: templates are not synced', async () => {
    const turn = createProvider('turnio', { auth_token: 'turnAUTHtoken0123456789' }, deps)
    assert.equal(turn.capabilities.templates, 'unsynced')
    assert.deepEqual(await turn.listTemplates(), [])
  })
})

describe('Meta template status webhook parsing', () => {
  it('parses approved and rejected updates, ids digit-exact from the text', () => {
    const approvedText = fixtureText('meta_template_status_update_approved.json')
    const approved = parseMetaWebhook(JSON.parse(approvedText), { rawText: approvedText })
    assert.equal(approved.ignored, false)
    assert.deepEqual(approved.routes, [])
    assert.equal(approved.skipped, 0)
    assert.deepEqual(approved.templateUpdates, [
      { accountId: BUSINESS_ID, providerTemplateId: '1689556908129832', name: 'order_update', language: 'pt-BR', status: 'APPROVED', reason: 'NONE', category: 'UTILITY' },
    ])
    const rejectedText = fixtureText('meta_template_status_update_rejected.json')
    const rejected = parseMetaWebhook(JSON.parse(rejectedText), { rawText: rejectedText })
    assert.equal(rejected.templateUpdates[0]?.status, 'REJECTED')
    assert.equal(rejected.templateUpdates[0]?.reason, 'INVALID_FORMAT: The template body has a variable at the very end of the text.')
    // An id past 2^53: JSON.parse rounds it, the text does not.
    const bigText = approvedText.replace('1689556908129832', '9007199254740993')
    const big = parseMetaWebhook(JSON.parse(bigText), { rawText: bigText })
    assert.equal(big.templateUpdates[0]?.providerTemplateId, '9007199254740993')
    const withoutText = parseMetaWebhook(JSON.parse(bigText))
    assert.equal(withoutText.templateUpdates[0]?.providerTemplateId, null, 'an inexact number is never used')
  })
})
