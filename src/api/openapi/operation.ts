/**
 * What the API reference says about one operation, in the terms the routes already use: the request
 * body is the very zod schema the route validates with, and every example the reference shows is a
 * value that schema (and the route's later checks) accepts; test/api/openapi.test.ts holds it to that.
 */
import type { OpenApiGeneratorV31, ZodContentObject, ZodMediaTypeObject } from '@asteasolutions/zod-to-openapi'
import { z } from 'zod'

/** A schema written as OpenAPI JSON (or a `$ref`), where no zod schema describes the value. */
export type SchemaObject = Exclude<NonNullable<ZodMediaTypeObject['schema']>, z.ZodType>

/** The generated OpenAPI 3.1 document. */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete'

/** The error statuses an operation may answer with, each described once (components.ts). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 502

/** One named example of a request body. */
export interface RequestExample {
  summary: string
  value: unknown
}

/** A JSON request body. */
export interface DocumentedBody {
  /**
   * The zod schema the route hands `parseBody` (the same object, exported from the route file). A
   * route that reads its body by hand (broadcasts) has one written here instead, and `check` runs the
   * route's own reader on each example.
   */
  schema: z.ZodType
  /** Shown in the reference; each must pass `schema` and `check`. */
  examples: Record<string, RequestExample>
  /** What the route checks after the schema (an outbound message, a provider's config…); throws when refused. */
  check?: (body: any) => void
}

/** The answer when the request succeeds. */
export interface SuccessResponse {
  status: 200 | 201 | 202 | 204
  description: string
  /** Typed with the route's DTO where one exists, so the compiler holds the example to the wire shape. */
  example?: unknown
  /** `application/json` unless told otherwise (`/metrics` is text). */
  contentType?: string
  schema?: z.ZodType | SchemaObject
}

export interface DocumentedOperation {
  method: HttpMethod
  /** OpenAPI form: `/api/bots/{id}` (the route is `/api/bots/:id`). */
  path: string
  tag: string
  summary: string
  description?: string
  params?: z.ZodObject
  query?: z.ZodObject
  body?: DocumentedBody
  /** A body that is not JSON (an upload, a CSV), described as is; not validated by the test. */
  otherContent?: ZodContentObject
  /** Extra request headers (`Idempotency-Key`). */
  headers?: z.ZodObject
  success: SuccessResponse
  /** Error statuses besides 401, which every authenticated operation may answer. */
  errors: ErrorStatus[]
  /** Answers of their own shape (a bot test's 502 with the bot's health, `/readyz`'s 503). */
  otherResponses?: Record<number, { description: string; example?: unknown; contentType?: string }>
  /** True for the few routes that take no token (health, metrics, provider webhooks, this reference). */
  public?: boolean
}

/** One resource's part of the reference: its operations, and the models its fields refer to (`$ref`). */
export interface DocumentedGroup {
  operations: DocumentedOperation[]
  /** zod schemas with a `.meta({ id })`, listed under `components/schemas`. */
  schemas?: z.ZodType[]
}

/** `{id}` of a resource: what it names and an example. */
export function idParams(noun: string, example: string): z.ZodObject {
  return z.object({ id: z.string().meta({ description: `The ${noun}'s id.`, example }) })
}

/**
 * `?limit=&cursor=` of every list (pagination.ts reads them by hand; this is their description).
 * Lists are `{data, next_cursor}`; pass `next_cursor` back as `cursor` for the next page.
 */
export const pageQuery = z.object({
  limit: z.int().min(1).max(200).optional().meta({ description: 'Page size: 1 to 200 (default 50).', example: 50 }),
  cursor: z.string().optional().meta({ description: 'The `next_cursor` of the previous page; leave out for the first.' }),
})

/**
 * Documentation for a field of a route's schema whose value the route checks later, by another model
 * (e.g. `message`, `z.unknown()` there, checked by core/outbound.ts): a `$ref` to that model and a
 * description. Kept in zod's metadata registry for that very field object: validation never reads it,
 * and the route's schema stays the one source of the request's shape.
 */
export function describeField(field: z.ZodType, meta: { description: string; $ref?: string; oneOf?: SchemaObject[] }): void {
  z.globalRegistry.add(field, meta as z.GlobalMeta)
}
