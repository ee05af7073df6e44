/**
 * Every admin API route that takes a body, under property-based fuzzing over real HTTP on each database.
 * The routes come from the gateway itself (`app.routes()`), and what each takes from its own API
 * reference (`/api/openapi.json`): its schema's field names (and, for free-form objects such as a
 * provider's `config`, the setting names its description gives), its enums, bounds and documented
 * examples. Each input is one of: any JSON value; an object of the route's fields with values of their
 * type, at and past their bounds, or anything; a documented example with a field changed; bytes that are
 * not what the content type says. Path ids are the seeded resources' own (so bodies reach validation and
 * beyond), now and then anything.
 *
 * For every input: never a 5xx; a 4xx in the error shape `{error: {code, message}}`; and a 4xx writes
 * nothing (every table's row count and latest change, and the revoked tokens, are the same after it).
 * The worker does not run, so only the request itself can write.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { DIALECTS, skipReason } from '../helpers/dialects.js'
import { FakeGraphApi } from '../helpers/fake-graph.js'
import { captureLogger, startTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway.js'
import { signMetaBody } from '../../src/providers/index.js'
import { anyJson, anyString, assertAnswer, fuzz, fuzzRuns, storeFingerprint } from './fuzz-kit.js'

const WABA = '104857600321987'
const PNID = '109876543210123'
const META_TOKEN = 'EAAB-fuzz-api-token-0001'
const APP_SECRET = 'fuzz-api-app-secret-0123456789ab'

/** Inputs per route in `npm test` (about twenty routes, two databases). */
const RUNS = fuzzRuns(60)

type Schema = Record<string, any>

/** The seeded resources, by the path segment before their id (`bots` for `/api/bots/:id`). */
type Seeds = Record<string, string[]>

// ---- Inputs from the API reference ----

/** Setting names a free-form object's description gives in backticks (a provider's `config`). */
function describedNames(description: unknown): string[] {
  if (typeof description !== 'string') return []
  return [...new Set([...description.matchAll(/`([a-z][a-z0-9_]{1,40})`/g)].map((match) => match[1]!))]
}

interface Builder {
  components: Record<string, Schema>
  /** Strings worth trying anywhere: seeded ids, numbers, URLs, template names, masks. */
  pool: string[]
}

/** Values for `schema`: of its type (at and past its bounds) most of the time, anything now and then. */
function valuesFor(schema: Schema, builder: Builder, depth: number): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: typedValues(schema, builder, depth) }, { weight: 1, arbitrary: anyJson })
}

function typedValues(schema: Schema, builder: Builder, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return anyJson
  if (typeof schema.$ref === 'string') {
    const target = builder.components[schema.$ref.split('/').pop()!]
    return target === undefined ? anyJson : typedValues(target, builder, depth + 1)
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...(schema.enum as unknown[]))
  if ('const' in schema) return fc.constant(schema.const as unknown)
  const alternatives = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined
  if (Array.isArray(alternatives) && alternatives.length > 0) return fc.oneof(...alternatives.map((alternative) => typedValues(alternative, builder, depth + 1)))
  if (Array.isArray(schema.allOf)) return typedValues(Object.assign({}, ...(schema.allOf as Schema[])), builder, depth + 1)
  const types: string[] = Array.isArray(schema.type) ? schema.type : typeof schema.type === 'string' ? [schema.type] : []
  if (types.length > 1) return fc.oneof(...types.map((type) => typedValues({ ...schema, type }, builder, depth)))
  switch (types[0]) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer':
    case 'number':
      return numbersFor(schema)
    case 'string':
      return stringsFor(schema, builder)
    case 'array':
      return fc.array(valuesFor((schema.items as Schema | undefined) ?? {}, builder, depth + 1), { maxLength: Math.min(Number(schema.maxItems ?? 4), 4) + 1 })
    case 'object':
      return objectsFor(schema, builder, depth)
    default: {
      const names = describedNames(schema.description)
      return names.length === 0 ? anyJson : fc.oneof(objectsFor({ type: 'object', properties: {}, description: schema.description }, builder, depth), anyJson)
    }
  }
}

function numbersFor(schema: Schema): fc.Arbitrary<number> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : -1000
  const max = typeof schema.maximum === 'number' ? schema.maximum : 1_000_000
  return fc.oneof(
    { weight: 3, arbitrary: schema.type === 'integer' ? fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }) : fc.double({ min, max, noNaN: true }) },
    { weight: 2, arbitrary: fc.constantFrom(min - 1, max + 1, min, max, 0, -1, 0.5, 2 ** 53, -(2 ** 53), 1e308) },
    { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  )
}

function stringsFor(schema: Schema, builder: Builder): fc.Arbitrary<string> {
  const words = [...builder.pool, ...describedNames(schema.description)]
  const options: fc.WeightedArbitrary<string>[] = [
    { weight: 3, arbitrary: fc.constantFrom(...words) },
    { weight: 2, arbitrary: anyString },
  ]
  const max = schema.maxLength
  if (typeof max === 'number' && max <= 70_000) options.push({ weight: 1, arbitrary: fc.constantFrom('y'.repeat(max), 'y'.repeat(max + 1)) })
  if (schema.format === 'uri') options.push({ weight: 3, arbitrary: fc.constantFrom('https://hooks.example.org/events', 'http://127.0.0.1:9/hook', 'ftp://x.example/', 'https://u:p@x.example/', 'https://') })
  return fc.oneof(...options)
}

/** Objects of the schema's fields (the required ones mostly there), or any subset, now and then with a stranger. */
function objectsFor(schema: Schema, builder: Builder, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, property] of Object.entries(properties)) model[name] = valuesFor(property, builder, depth + 1)
  for (const name of describedNames(schema.description)) model[name] ??= fc.oneof(stringsFor({}, builder), anyJson)
  const required = ((schema.required ?? []) as string[]).filter((name) => name in model)
  const stranger = fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'id', 'team_id')), anyJson, { minKeys: 1, maxKeys: 2 })
  return fc.oneof(
    { weight: 5, arbitrary: fc.record(model, { requiredKeys: required }) },
    { weight: 2, arbitrary: fc.record(model, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.tuple(fc.record(model, { requiredKeys: required }), stranger).map(([known, extra]) => ({ ...extra, ...known })) },
  )
}

/** A documented example with one field replaced by anything, removed, or kept. */
function examplesChanged(examples: unknown[]): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...examples), fc.nat(), fc.oneof(anyJson, fc.constant(undefined))).map(([example, pick, value]) => {
    if (typeof example !== 'object' || example === null || Array.isArray(example)) return example
    const copy: Record<string, unknown> = structuredClone(example as Record<string, unknown>)
    const keys = Object.keys(copy)
    if (keys.length === 0 || pick % 4 === 0) return copy
    const key = keys[pick % keys.length]!
    if (value === undefined) delete copy[key]
    else copy[key] = value
    return copy
  })
}

/** One request: its path, body and content type. */
interface Attempt {
  path: string
  body: string | Buffer | undefined
  contentType: string
}

/** Every input of one route. */
function attemptsFor(route: string, operation: Schema | undefined, builder: Builder, seeds: Seeds): fc.Arbitrary<Attempt> {
  const pattern = route.slice(route.indexOf(' ') + 1)
  // Ids the route's params take: a seeded resource's (a few named for this route), or anything.
  const segments = pattern.split('/')
  const pathArbitrary = fc.tuple(...segments.map((segment, index) => {
    if (!segment.startsWith(':')) return fc.constant(segment)
    const own = seeds[`${segments[index - 1]}/${segments[index + 1] ?? ''}`] ?? seeds[segments[index - 1]!] ?? []
    const anything = fc.oneof(anyString, fc.constantFrom('bot_00000000000000000000000000', '..', '%2e%2e')).map((value) => encodeURIComponent(value) || 'x')
    return own.length === 0 ? anything : fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...own) }, { weight: 1, arbitrary: anything })
  })).map((parts) => parts.join('/'))

  const content = (operation?.requestBody?.content ?? {}) as Record<string, Schema>
  const json = content['application/json']
  const jsonExamples = [json?.example, ...Object.values((json?.examples ?? {}) as Record<string, { value?: unknown }>).map((example) => example.value)].filter((example) => example !== undefined)
  const jsonBodies: fc.WeightedArbitrary<unknown>[] = [{ weight: 2, arbitrary: anyJson }]
  if (json?.schema !== undefined) jsonBodies.push({ weight: 6, arbitrary: typedValues(json.schema as Schema, builder, 0) })
  if (jsonExamples.length > 0) jsonBodies.push({ weight: 3, arbitrary: examplesChanged(jsonExamples) })
  const bodies: fc.WeightedArbitrary<{ body: string | Buffer | undefined; contentType: string }>[] = [
    { weight: 10, arbitrary: fc.oneof(...jsonBodies).map((value) => ({ body: JSON.stringify(value), contentType: 'application/json' })) },
    // Not JSON at all, or nothing, under the JSON content type.
    { weight: 1, arbitrary: fc.oneof(anyString, fc.constant('{"a":'), fc.constant('')).map((text) => ({ body: text === '' ? undefined : text, contentType: 'application/json' })) },
  ]
  for (const type of Object.keys(content).filter((type) => type !== 'application/json')) {
    if (type === 'multipart/form-data') {
      const part = fc.tuple(anyString, anyString, fc.constantFrom('image/png', 'text/plain', '')).map(([name, data, partType]) =>
        `--fz\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n${partType === '' ? '' : `Content-Type: ${partType}\r\n`}\r\n${data}\r\n--fz--\r\n`)
      bodies.push({ weight: 3, arbitrary: fc.oneof(part, anyString).map((body) => ({ body, contentType: 'multipart/form-data; boundary=fz' })) })
    } else if (type === 'text/csv') {
      const csv = fc.array(fc.array(fc.oneof(anyString, fc.constantFrom('to', 'phone', '+27821234567', '"', '1', 'name')), { maxLength: 4 }).map((cells) => cells.join(',')), { maxLength: 5 }).map((lines) => lines.join('\n'))
      bodies.push({ weight: 3, arbitrary: csv.map((body) => ({ body, contentType: 'text/csv' })) })
    } else {
      bodies.push({ weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ body: Buffer.from(bytes), contentType: type })) })
    }
  }
  // A content type the route does not take.
  bodies.push({ weight: 1, arbitrary: anyString.map((body) => ({ body, contentType: 'application/xml' })) })
  return fc.tuple(pathArbitrary, fc.oneof(...bodies)).map(([path, { body, contentType }]) => ({ path, body, contentType }))
}

for (const dialect of DIALECTS) {
  const skip = await skipReason(dialect)
  describe(`${dialect}: admin API under fuzzing`, { skip }, () => {
    let gw: TestGateway
    let graph: FakeGraphApi
    let openapi: Schema
    const seeds: Seeds = {}
    const pool: string[] = []
    const errors = captureLogger('error')

    async function ok(res: Promise<TestResponse>, status: number): Promise<any> {
      const answer = await res
      assert.equal(answer.status, status, answer.text)
      return answer.body
    }

    before(async () => {
      graph = await FakeGraphApi.start()
      graph.addBusiness(WABA, [{ id: PNID, display_phone_number: '+1 555-010-1234' }])
      graph.addTemplates(WABA, [
        { name: 'order_update', language: 'en', status: 'APPROVED', id: '2001', category: 'UTILITY', parameter_format: 'POSITIONAL', components: [{ type: 'BODY', text: 'Order {{1}} for {{2}}' }] },
        { name: 'holiday_hours', language: 'en', status: 'APPROVED', id: '2002', category: 'UTILITY', parameter_format: 'POSITIONAL', components: [{ type: 'BODY', text: 'Closed on {{1}}' }] },
      ])
      graph.validTokens.add(META_TOKEN)
      gw = await startTestGateway({ dialect, env: { metaGraphUrl: graph.baseUrl, publicUrl: 'https://sb.example.com' }, tuning: { runWorker: false, routingTtlMs: 0 }, logger: errors.logger })
      const request = gw.request.bind(gw)
      const team = await ok(request('POST', '/api/teams', { body: { name: 'Fuzz team' } }), 201)
      const provider = await ok(request('POST', '/api/providers', { body: { type: 'meta_cloud_api', name: 'Meta', config: { business_id: WABA, access_token: META_TOKEN, app_secret: APP_SECRET, verify_token: 'fuzz-verify' } } }), 201)
      const echo = await ok(request('POST', '/api/bots', { body: { name: 'Echo', type: 'echo' } }), 201)
      const http = await ok(request('POST', '/api/bots', { body: { name: 'Hook', type: 'http', config: { url: 'https://u:pw-123@bot.example.org/hook', secret: 'fuzz-bot-secret-0123456789' } } }), 201)
      const llm = await ok(request('POST', '/api/bots', { body: { name: 'Model', type: 'llm', config: { base_url: 'https://llm.example.org/v1', api_key: 'sk-fuzz-0123456789', model: 'm', system_prompt: 'Be brief.', speech: { model: 'tts', voice: 'alloy' } } } }), 201)
      const channel = await ok(request('POST', '/api/channels', { body: { bot_id: echo.id, provider_id: provider.id, number: '+15550101234' } }), 201)
      const webhook = await ok(request('POST', '/api/webhooks', { body: { url: 'https://hooks.example.org/events', events: ['message.received'] } }), 201)
      // A conversation, from a signed inbound webhook.
      const inbound = Buffer.from(JSON.stringify(graph.buildInboundTextWebhook({ pnid: PNID, from: '27821234567', text: 'hello' })))
      const posted = await gw.request('POST', '/channels/whatsapp/meta/incoming_message', { token: null, rawBody: inbound, headers: { 'x-hub-signature-256': signMetaBody(inbound, APP_SECRET) } })
      assert.equal(posted.status, 200, posted.text)
      const conversations = await ok(request('GET', `/api/channels/${channel.id}/conversations`), 200)
      const broadcast = await ok(request('POST', `/api/channels/${channel.id}/broadcasts`, { body: { name: 'Seed', message: { type: 'template', name: 'order_update', language: 'en', params: ['1', 'A'] }, recipients: [{ to: '+27821234567' }] } }), 202)
      const media = await gw.request('POST', '/api/media', { rawBody: Buffer.from('fuzz media'), headers: { 'content-type': 'application/octet-stream' } })
      assert.equal(media.status, 201, media.text)
      Object.assign(seeds, {
        teams: [team.id],
        providers: [provider.id],
        bots: [echo.id, http.id, llm.id],
        // A test call reaches the bot: only the echo bot answers without a network.
        'bots/test': [echo.id],
        channels: [channel.id],
        webhooks: [webhook.id],
        conversations: [conversations.data[0].id],
        broadcasts: [broadcast.id],
        jobs: ['job_00000000000000000000000000'],
      })
      pool.push(
        ...Object.values(seeds).flat(),
        media.body.id,
        '+15550101234',
        '+27821234567',
        '27821234567',
        'US.13491208655302741918',
        'order_update',
        'holiday_hours',
        'en',
        'https://hooks.example.org/events',
        'http://127.0.0.1:9/x',
        'EAAB…01',
        'https://u:••••@bot.example.org/hook',
        'message.received',
        'human',
        'bot',
      )
      openapi = await ok(gw.request('GET', '/api/openapi.json', { token: null }), 200)
    })
    after(async () => {
      await gw?.close()
      await graph?.close()
    })

    it('answers every body of every admin write with no 5xx, the error shape on 4xx, and nothing written on 4xx', async (t) => {
      const routes = gw.gateway.app.routes().filter((route) => /^(POST|PATCH|PUT) \/api\//.test(route))
      assert.ok(routes.length >= 15, routes.join('\n'))
      const builder: Builder = { components: openapi.components?.schemas ?? {}, pool }
      for (const route of routes) {
        const [method, pattern] = route.split(' ') as [string, string]
        const operation = openapi.paths?.[pattern.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()] as Schema | undefined
        const seedsOfRoute = { ...seeds, bots: pattern.endsWith('/test') && pattern.startsWith('/api/bots') ? seeds['bots/test']! : seeds.bots! }
        await t.test(route, async (routeTest) => {
          await fuzz(routeTest, `${dialect} ${route}`, attemptsFor(route, operation, builder, seedsOfRoute), RUNS, async ({ path, body, contentType }) => {
            const before = await storeFingerprint(gw.gateway.store.db)
            const res = await gw.request(method, path, { ...(body === undefined ? {} : { rawBody: body }), headers: { 'content-type': contentType } })
            const what = `${method} ${path} ${contentType} ${String(body).slice(0, 300)}`
            assertAnswer(res, what, errors.text)
            if (res.status >= 400) assert.equal(await storeFingerprint(gw.gateway.store.db), before, `${what}: answered ${res.status} but wrote`)
            return res
          })
        })
      }
    })
  })
}
