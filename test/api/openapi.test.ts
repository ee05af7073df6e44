/**
 * The API reference (SPEC §12.3): `/api/openapi.json` documents every route the gateway registered
 * under /api (and documents none that does not exist), every example request body shown passes the
 * schema the route validates with (and the route's later checks), the document holds together as
 * OpenAPI 3.1, and `/api/docs` renders it from the gateway's own files. Neither asks for a token.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ERROR_RESPONSES, errorSchema } from '../../src/api/openapi/components.js'
import { DOCUMENTED_BODIES, DOCUMENTED_OPERATIONS, routeKey } from '../../src/api/openapi/openapi-registry.js'
import { parseBody } from '../../src/api/validation.js'
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js'

type Json = any

/** `POST /api/bots/:id/test` → the document's `paths['/api/bots/{id}/test'].post`. */
function documentedOperation(document: Json, route: string): Json {
  const [method, pattern] = route.split(' ') as [string, string]
  const path = pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
  return document.paths?.[path]?.[method.toLowerCase()]
}

/** Every `$ref` in `node`, with where it was found. */
function refsOf(node: unknown, at = '#'): Array<{ ref: string; at: string }> {
  if (typeof node !== 'object' || node === null) return []
  const found: Array<{ ref: string; at: string }> = []
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') found.push({ ref: value, at })
    else found.push(...refsOf(value, `${at}/${key}`))
  }
  return found
}

/** The value a local JSON pointer (`#/components/schemas/Error`) names, or undefined. */
function resolvePointer(document: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  let current: unknown = document
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (typeof current !== 'object' || current === null || !(key in current)) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

describe('API reference', () => {
  let gw: TestGateway
  let document: Json

  before(async () => {
    gw = await startTestGateway({ dialect: 'sqlite' })
    const res = await gw.request('GET', '/api/openapi.json', { token: null })
    assert.equal(res.status, 200, res.text)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    document = res.body
  })
  after(() => gw?.close())

  it('documents every route registered under /api, and only routes that exist', () => {
    const routes = gw.gateway.app.routes()
    // Swagger UI's own files under /api/docs/ are the reference's page, not operations of the API.
    const apiRoutes = routes.filter((route) => route.split(' ')[1]!.startsWith('/api/') && !route.split(' ')[1]!.startsWith('/api/docs/'))
    assert.ok(apiRoutes.length >= 40, `only ${apiRoutes.length} /api routes found`)
    const missing = apiRoutes.filter((route) => documentedOperation(document, route) === undefined)
    assert.deepEqual(missing, [], `registered but missing from /api/openapi.json: ${missing.join(', ')}`)

    const registered = new Set(routes)
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => routeKey({ method: method as 'get', path })),
    )
    const stale = documented.filter((route) => !registered.has(route))
    assert.deepEqual(stale, [], `documented but not a route: ${stale.join(', ')}`)
    // The served document is the one the registry's list describes, operation for operation.
    assert.deepEqual(documented.sort(), DOCUMENTED_OPERATIONS.map(routeKey).sort())
  })

  it('shows only request examples that pass the schema the route validates with, and its later checks', () => {
    const refused: string[] = []
    let checked = 0
    for (const [route, body] of DOCUMENTED_BODIES) {
      const examples = Object.entries(body.examples)
      assert.ok(examples.length > 0, `${route} shows no example`)
      // What the reader sees is what was checked.
      const shown = documentedOperation(document, route)?.requestBody?.content?.['application/json']?.examples
      assert.deepEqual(
        Object.fromEntries(Object.entries(shown ?? {}).map(([name, example]) => [name, (example as { value: unknown }).value])),
        Object.fromEntries(examples.map(([name, example]) => [name, example.value])),
        `${route}: the document shows other examples than the registry holds`,
      )
      for (const [name, example] of examples) {
        try {
          // The routes' own entry point: the JSON-object check, then the schema, with their error wording.
          parseBody(body.schema, example.value)
          body.check?.(example.value)
          checked++
        } catch (error) {
          refused.push(`${route} example "${name}": ${error instanceof Error ? error.message : String(error)}`)
        }
      }
    }
    assert.deepEqual(refused, [])
    assert.ok(checked >= 30, `only ${checked} examples checked`)
  })

  it('would refuse an example the route refuses (the check is not vacuous)', () => {
    const create = DOCUMENTED_BODIES.get('POST /api/channels')
    assert.ok(create, 'POST /api/channels has a documented body')
    const valid = Object.values(create.examples)[0]!.value as Record<string, unknown>
    assert.throws(() => parseBody(create.schema, { ...valid, nmae: 'typo' }), /"nmae" is not a field/)
    const send = DOCUMENTED_BODIES.get('POST /api/channels/:id/messages')
    assert.ok(send?.check)
    assert.throws(() => send.check!({ to: '+27821234567', message: { type: 'buttons', text: 'Pick', buttons: [] } }), /message\.buttons/)
    const broadcast = DOCUMENTED_BODIES.get('POST /api/channels/:id/broadcasts')
    assert.ok(broadcast?.check)
    assert.throws(() => broadcast.check!({ name: 'x', message: { type: 'text', text: 'hi' }, recipients: [{ to: '+27821234567' }] }), /template/)
  })

  it('shows error examples in the shared error shape, with the codes of the catalogue', () => {
    for (const [status, response] of Object.entries(ERROR_RESPONSES)) {
      const served = document.components.responses[response.name]
      assert.ok(served, `components.responses.${response.name} (${status})`)
      assert.equal(served.content['application/json'].schema.$ref, '#/components/schemas/Error')
      for (const [name, example] of Object.entries(served.content['application/json'].examples as Record<string, { value: unknown }>)) {
        assert.doesNotThrow(() => errorSchema.parse(example.value), `${response.name} example ${name}`)
      }
    }
    // Every authenticated operation may answer 401; public ones say they need no token.
    for (const operation of DOCUMENTED_OPERATIONS) {
      const served = documentedOperation(document, routeKey(operation))
      if (operation.public) assert.deepEqual(served.security, [], routeKey(operation))
      else assert.equal(served.responses['401']?.$ref, '#/components/responses/Unauthenticated', routeKey(operation))
    }
  })

  it('is an OpenAPI 3.1 document whose every $ref resolves', () => {
    assert.equal(document.openapi, '3.1.0')
    assert.equal(typeof document.info.title, 'string')
    assert.match(document.info.version, /^\d+\.\d+\.\d+/)
    assert.deepEqual(document.security, [{ bearer: [] }])
    assert.equal(document.components.securitySchemes.bearer.scheme, 'bearer')

    const unresolved = refsOf(document).filter(({ ref }) => resolvePointer(document, ref) === undefined)
    assert.deepEqual(unresolved, [])

    const operationIds = new Set<string>()
    const tags = new Set((document.tags as Array<{ name: string }>).map((tag) => tag.name))
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
      assert.match(path, /^\//)
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1])
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`
        assert.ok(['get', 'post', 'patch', 'put', 'delete'].includes(method), where)
        assert.equal(typeof operation.summary, 'string', where)
        assert.ok(!operationIds.has(operation.operationId), `${where}: operationId ${operation.operationId} is used twice`)
        operationIds.add(operation.operationId)
        for (const tag of operation.tags) assert.ok(tags.has(tag), `${where}: tag "${tag}" is not listed in tags`)
        assert.ok(Object.keys(operation.responses).length > 0, where)
        for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
          assert.match(status, /^[1-5]\d\d$/, where)
          assert.ok(typeof response.$ref === 'string' || typeof response.description === 'string', `${where} ${status}: no description`)
        }
        // Every {param} of the path is a required path parameter, and no other path parameter is declared.
        const declared = (operation.parameters ?? []).filter((parameter: Json) => parameter.in === 'path')
        assert.deepEqual(declared.map((parameter: Json) => parameter.name).sort(), [...pathParams].sort(), where)
        for (const parameter of declared) assert.equal(parameter.required, true, `${where}: {${parameter.name}} must be required`)
      }
    }
  })

  it('serves the document to Swagger UI at /api/docs from its own files, without a token', async () => {
    const page = await gw.request('GET', '/api/docs', { token: null })
    assert.equal(page.status, 200, page.text)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    const csp = String(page.headers['content-security-policy'])
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'self';/)
    assert.match(csp, /connect-src 'self';/)
    assert.doesNotMatch(csp, /https?:|\*/, 'the policy allows no other origin')

    const assets = [...page.text.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((match) => match[1]!)
    assert.ok(assets.some((url) => url.endsWith('.js')) && assets.some((url) => url.endsWith('.css')), `no scripts or styles in: ${page.text}`)
    const elsewhere = assets.filter((url) => /^(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(url) && !url.startsWith(gw.baseUrl))
    assert.deepEqual(elsewhere, [], 'every asset comes from the gateway itself')
    assert.doesNotMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script (the policy would block it)')

    for (const url of assets) {
      const asset = await gw.request('GET', new URL(url, `${gw.baseUrl}/api/docs`).pathname, { token: null })
      assert.equal(asset.status, 200, `${url}: ${asset.status}`)
      if (url.endsWith('.js')) assert.match(String(asset.headers['content-type']), /javascript/, url)
      if (url.endsWith('.css')) assert.match(String(asset.headers['content-type']), /text\/css/, url)
    }
    // The page's script loads the document from beside it, and sends it to no validator.
    const initializer = await gw.request('GET', '/api/docs/static/swagger-initializer.js', { token: null })
    assert.equal(initializer.status, 200)
    assert.match(initializer.text, /resolveUrl\('\.\/json'\)/)
    assert.match(initializer.text, /validatorUrl: null/)
    const json = await gw.request('GET', '/api/docs/json', { token: null })
    assert.equal(json.status, 200)
    assert.deepEqual(json.body, document)
  })
})
