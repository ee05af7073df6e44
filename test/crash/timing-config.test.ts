/**
 * The timing variables the crash tests (and operators) set: read and validated like every other
 * variable, and a bad one stops the real entry point with one line naming it (SPEC §2).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../src/config.js'
import { GatewayProcess, killAllGatewayProcesses } from './gateway-process.js'

describe('timing variables', () => {
  it('are absent unless set, and read as whole milliseconds when set', () => {
    assert.deepEqual(loadConfig({}).timings, {})
    const config = loadConfig({
      SWITCHBOARD_LEASE_MS: '1500',
      SWITCHBOARD_POLL_INTERVAL_MS: '50',
      SWITCHBOARD_IN_DOUBT_WAIT_MS: '0',
      SWITCHBOARD_RETRY_BASE_MS: '50',
      SWITCHBOARD_RETRY_MAX_MS: '500',
      SWITCHBOARD_STOP_TIMEOUT_MS: '1000',
      SWITCHBOARD_PROVIDER_TIMEOUT_MS: '400',
    })
    assert.deepEqual(config.timings, {
      leaseMs: 1500,
      pollIntervalMs: 50,
      inDoubtWaitMs: 0,
      retryBaseMs: 50,
      retryMaxMs: 500,
      stopTimeoutMs: 1000,
      providerTimeoutMs: 400,
    })
  })

  it('reject bad values naming the variable', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ SWITCHBOARD_LEASE_MS: '100' }, 'SWITCHBOARD_LEASE_MS'],
      [{ SWITCHBOARD_POLL_INTERVAL_MS: 'fast' }, 'SWITCHBOARD_POLL_INTERVAL_MS'],
      [{ SWITCHBOARD_IN_DOUBT_WAIT_MS: '-1' }, 'SWITCHBOARD_IN_DOUBT_WAIT_MS'],
      [{ SWITCHBOARD_PROVIDER_TIMEOUT_MS: '1.5' }, 'SWITCHBOARD_PROVIDER_TIMEOUT_MS'],
      [{ SWITCHBOARD_RETRY_BASE_MS: '1000', SWITCHBOARD_RETRY_MAX_MS: '10' }, 'SWITCHBOARD_RETRY_MAX_MS'],
    ]
    for (const [env, variable] of cases) {
      assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.variable === variable, variable)
    }
  })

  it('a bad one stops `main.ts` with exit 78 and one line naming it', { timeout: 60_000 }, async () => {
    try {
      await assert.rejects(GatewayProcess.start('bad-timing', { SWITCHBOARD_STOP_TIMEOUT_MS: 'soon', DATA_DIR: '/nonexistent' }), (error: Error) => {
        assert.match(error.message, /exited \(\{"code":78,"signal":null\}\)/)
        assert.match(error.message, /switchboard: configuration error: SWITCHBOARD_STOP_TIMEOUT_MS: must be a whole number \(got "soon"\)/)
        return true
      })
    } finally {
      await killAllGatewayProcesses()
    }
  })
})
