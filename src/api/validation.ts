/**
 * Request validation: zod schemas in, catalogue errors out. Every problem names its field and says, in
 * a sentence, what the field must be: an unknown field → 422 `unknown_field`, a missing one → 422
 * `missing_field`, a wrong value → 422 `invalid_value`; a body that is not a JSON object → 400.
 */
import type { z } from 'zod'
import {
  GW_ERR_API_INVALID_VALUE,
  GW_ERR_API_MALFORMED,
  GW_ERR_API_MISSING_FIELD,
  GW_ERR_API_UNKNOWN_FIELD,
  type GatewayError,
} from '../core/errors.js'

type Issue = z.core.$ZodIssue
type RawIssue = z.core.$ZodRawIssue

/** Longest text accepted for names. */
export const NAME_MAX = 200

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a JSON array',
}

/**
 * Default wording of zod's issues as predicates ("must be text"), so the field name can lead the
 * sentence. Schemas may still set their own predicate with `{ error: 'must …' }`.
 */
function predicate(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters long`
      return `must be at least ${issue.minimum}`
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`
      return `must be at most ${issue.maximum}`
    case 'invalid_format':
      return issue.format === 'url' ? 'must be an http:// or https:// URL' : `must be a valid ${issue.format}`
    default:
      return undefined
  }
}

/** The value at `path` in `input`, or undefined when any step is missing. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.map(String).join('.')
}

/** Turns the most useful zod issue into a catalogue error: unknown fields first, then missing ones. */
function issueToError(issues: readonly Issue[], input: unknown): GatewayError {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys')
  if (unknown && unknown.code === 'unrecognized_keys') {
    const field = fieldName([...unknown.path, unknown.keys[0] ?? ''])
    return GW_ERR_API_UNKNOWN_FIELD(`"${field}" is not a field this request takes; remove it (check its spelling).`, { field })
  }
  const missing = issues.find((issue) => issue.path.length > 0 && valueAt(input, issue.path) === undefined)
  if (missing) {
    const field = fieldName(missing.path)
    return GW_ERR_API_MISSING_FIELD(`"${field}" is required: it ${missing.message}.`, { field })
  }
  const first = issues[0]
  const field = first ? fieldName(first.path) : undefined
  if (!first || field === undefined || field === '') {
    return GW_ERR_API_MALFORMED('The request body must be a JSON object.')
  }
  return GW_ERR_API_INVALID_VALUE(`"${field}" ${first.message}.`, { field })
}

/**
 * Finds the first string holding a NUL character, which PostgreSQL text cannot store. Iterative, so a
 * deeply nested body cannot overflow the stack.
 */
function findNul(root: unknown): string | undefined {
  interface Node {
    value: unknown
    key: string
    parent: Node | null
  }
  const stack: Node[] = [{ value: root, key: '', parent: null }]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (typeof node.value === 'string') {
      if (!node.value.includes('\u0000')) continue
      const path: string[] = []
      for (let at: Node | null = node; at !== null && at.parent !== null; at = at.parent) path.unshift(at.key)
      return path.join('.')
    }
    if (typeof node.value === 'object' && node.value !== null) {
      for (const [key, value] of Object.entries(node.value)) stack.push({ value, key, parent: node })
    }
  }
  return undefined
}

/** Checks that the body is a JSON object free of NUL characters; throws 400/422 otherwise. */
export function requireObjectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) {
    throw GW_ERR_API_MALFORMED('The request needs a JSON object body, sent with "Content-Type: application/json".')
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw GW_ERR_API_MALFORMED('The request body must be a JSON object ({…}), not an array, string or number.')
  }
  const nulField = findNul(body)
  if (nulField !== undefined) {
    throw GW_ERR_API_INVALID_VALUE(`"${nulField}" contains a NUL character (\\u0000); remove it.`, { field: nulField })
  }
  return body as Record<string, unknown>
}

/** Validates a JSON body against `schema`; throws the catalogue error of the first problem. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const object = requireObjectBody(body)
  const result = schema.safeParse(object, { error: predicate })
  if (!result.success) throw issueToError(result.error.issues, object)
  return result.data
}

/** Validates any value (e.g. a nested config) against `schema`, naming fields under `prefix`. */
export function parseValue<T extends z.ZodType>(schema: T, value: unknown, prefix: string): z.output<T> {
  const result = schema.safeParse(value, { error: predicate })
  if (result.success) return result.data
  const prefixed = result.error.issues.map((issue) => ({ ...issue, path: [prefix, ...issue.path] }) as Issue)
  throw issueToError(prefixed, { [prefix]: value })
}
