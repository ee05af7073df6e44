/**
 * Shared parts of the property-based suites (fast-check): a fixed seed and a bounded count so
 * `npm test` is repeatable and quick, both raised from the environment for a longer run
 * (`FUZZ_RUNS=2000 FUZZ_SEED=7 node scripts/run-tests.mjs test/fuzz/webhooks.test.ts`; BENCHMARKS.md;
 * `FUZZ_SHRINK=1` shrinks a failure to a smaller input),
 * the summary line each property prints, and the checks every suite makes of an answer and of the store.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import * as fc from 'fast-check'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/store/schema.js'
import type { TestResponse } from '../helpers/test-gateway.js'

/** The seed every property starts from: the same inputs on every run unless `FUZZ_SEED` says otherwise. */
export const FUZZ_SEED = Number.parseInt(process.env.FUZZ_SEED ?? '', 10) || 1_616_016

/** Inputs per property: `defaultRuns` in `npm test`, `FUZZ_RUNS` when set (the longer run). */
export function fuzzRuns(defaultRuns: number): number {
  const asked = Number.parseInt(process.env.FUZZ_RUNS ?? '', 10)
  return Number.isFinite(asked) && asked > 0 ? asked : defaultRuns
}

/**
 * Runs `check` over `numRuns` inputs of `arbitrary` from the fixed seed (shrinking a failure to a small
 * input), and prints one line: how many inputs were tried and how the gateway answered them.
 * `check` returns the answer it saw (of the first request, when it makes several).
 */
export async function fuzz<T>(
  t: TestContext,
  name: string,
  arbitrary: fc.Arbitrary<T>,
  numRuns: number,
  check: (value: T) => Promise<TestResponse>,
): Promise<void> {
  const answers = new Map<string, number>()
  let tried = 0
  const started = performance.now()
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        tried++
        const res = await check(value)
        const code = typeof res.body?.error?.code === 'string' ? ` ${res.body.error.code as string}` : ''
        answers.set(`${res.status}${code}`, (answers.get(`${res.status}${code}`) ?? 0) + 1)
      }),
      // Inputs share one database, so a shrunk input runs against a store its bigger self changed:
      // shrinking is slow there and can mislead, so it is asked for (FUZZ_SHRINK=1), not the default.
      { seed: FUZZ_SEED, numRuns, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
    )
  } finally {
    const seen = [...answers].sort(([a], [b]) => a.localeCompare(b)).map(([answer, count]) => `${answer} ×${count}`).join(', ')
    t.diagnostic(`fuzz ${name}: ${tried} inputs tried (seed ${FUZZ_SEED}, ${numRuns} asked); answers: ${seen || 'none'}; ${Math.round(performance.now() - started)} ms`)
  }
}

/**
 * Never a 5xx, and every 4xx in the documented error shape `{error: {code, message}}`. `log` is the
 * gateway's error log so far: a 5xx's cause is the line it ends with.
 */
export function assertAnswer(res: TestResponse, what: string, log?: () => string): void {
  assert.ok(res.status < 500, `${what}: answered ${res.status}: ${res.text.slice(0, 500)}\n${log?.().trim().split('\n').pop()?.slice(0, 1500) ?? ''}`)
  if (res.status < 400) return
  const error = res.body?.error
  assert.ok(typeof error === 'object' && error !== null, `${what}: ${res.status} without {error}: ${res.text.slice(0, 500)}`)
  assert.equal(typeof error.code, 'string', `${what}: ${res.text.slice(0, 500)}`)
  assert.ok(error.code.length > 0, `${what}: empty error code`)
  assert.equal(typeof error.message, 'string', `${what}: ${res.text.slice(0, 500)}`)
  assert.ok(error.message.length > 0, `${what}: empty error message`)
}

/** Tables whose rows record when they last changed (a write that only updates shows there). */
const CHANGING: readonly (keyof Database)[] = [
  'providers',
  'bots',
  'channels',
  'conversations',
  'messages',
  'jobs',
  'event_webhooks',
  'templates',
  'broadcasts',
  'broadcast_recipients',
]
const OTHERS: readonly (keyof Database)[] = ['teams', 'api_tokens', 'event_deliveries', 'media']

/**
 * What a write would change: each table's row count, the latest `updated_at` where a table has one, and
 * the revoked tokens. Equal before and after a request means it wrote nothing. `only` narrows it to the
 * tables a request of one kind writes (a webhook's provider evidence is written after its answer, apart).
 */
export async function storeFingerprint(db: Kysely<Database>, only?: readonly (keyof Database)[]): Promise<string> {
  const wanted = (table: keyof Database): boolean => only === undefined || only.includes(table)
  const parts = await Promise.all([
    ...CHANGING.filter(wanted).map(async (table) => {
      const row = await db
        .selectFrom(table)
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('at')])
        .executeTakeFirstOrThrow()
      return `${table}:${Number(row.n)}:${String(row.at)}`
    }),
    ...OTHERS.filter(wanted).map(async (table) => {
      const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return `${table}:${Number(row.n)}`
    }),
    !wanted('api_tokens')
      ? ''
      : db
          .selectFrom('api_tokens')
          .select((eb) => eb.fn.max('revoked_at').as('at'))
          .executeTakeFirstOrThrow()
          .then((row) => `revoked:${String(row.at)}`),
  ])
  return parts.join(' ')
}

/** A string of any kind: printable, any code point, empty, long, or made of JSON's own characters. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\ud800', '{}', 'null', '-1', '1e309', '😀'.repeat(3), 'x'.repeat(5000)) },
)

/** Any JSON value, kept small. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 })

/** `real` most of the time, now and then any JSON value in its place. */
export function mostly<T>(real: fc.Arbitrary<T>, weight = 5): fc.Arbitrary<unknown> {
  return fc.oneof({ weight, arbitrary: real as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) })
}

/** A value of `arbitrary` one time in `oneIn`, else null. */
export function sometimes<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary })
}

/** An object with some of `model`'s keys (each value `mostly` its own), now and then with a key of any name. */
export function someOf(model: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.record(model, { requiredKeys: [] }), sometimes(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 2 }), 6))
    .map(([known, extra]) => ({ ...(extra ?? {}), ...known }))
}
