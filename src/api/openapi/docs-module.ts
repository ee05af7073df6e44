/**
 * The API reference over HTTP, without a token: `GET /api/openapi.json` (the document, serialised
 * once) and `/api/docs`, Swagger UI served from its npm package by @fastify/swagger-ui: no CDN, and a
 * Content-Security-Policy that lets the page load nothing but its own files and talk only to the
 * gateway ("Try it out" calls the API with the token typed into "Authorize").
 *
 * Registered by the composition root beside the admin API plugin, not inside it, so its auth hook
 * never sees these routes.
 */
import { fastifySwagger } from '@fastify/swagger'
import { fastifySwaggerUi } from '@fastify/swagger-ui'
import type { FastifyPluginAsync } from 'fastify'
import { openApiDocument } from './openapi-registry.js'

/** Where the reference is served. */
const OPENAPI_PATH = '/api/openapi.json'
const DOCS_PATH = '/api/docs'

/**
 * Swagger UI's page: its own scripts and styles, images of its own or `data:` (its CSS has some), and
 * requests only to this origin (the document, "Try it out"). No inline script: the plugin serves its
 * initializer as a file. Not framed by other sites.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** The reference as a Fastify plugin. The document is generated here, once, when the gateway starts. */
export function createApiDocsModule(): FastifyPluginAsync {
  const document = openApiDocument()
  const json = JSON.stringify(document)
  return async (server) => {
    server.get(OPENAPI_PATH, async (_request, reply) => reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(json))
    // Static mode: the plugin only holds the document for the UI (`/api/docs/json`); it reads no routes.
    // Its types know OpenAPI 2 and 3.0 documents; a 3.1 one is served the same way.
    await server.register(fastifySwagger, { mode: 'static', specification: { document: document as never } })
    await server.register(fastifySwaggerUi, {
      routePrefix: DOCS_PATH,
      staticCSP: CONTENT_SECURITY_POLICY,
      theme: { title: 'Switchboard API reference' },
      // No top bar (its logo and its box for loading other documents): the reference and nothing else.
      uiConfig: { layout: 'BaseLayout', deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, displayRequestDuration: true },
      // Swagger UI would otherwise send the document to validator.swagger.io for a badge.
      validatorUrl: false,
    })
  }
}
