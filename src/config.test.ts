import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from './config.js'

const POSTGRES = { DATABASE_URL: 'postgres://switchboard@127.0.0.1:5432/switchboard', SWITCHBOARD_SECRET_KEYS: Buffer.alloc(32, 7).toString('base64') }

describe('worker concurrency and pool defaults', () => {
  it('SQLite runs 256 jobs at once', () => {
    assert.equal(loadConfig({}).workerConcurrency, 256)
  })

  it('PostgreSQL runs 4 jobs a pooled connection, at most 64: 64 on the default 20', () => {
    const defaults = loadConfig(POSTGRES)
    assert.deepEqual([defaults.databasePoolSize, defaults.workerConcurrency], [20, 64])
    assert.equal(loadConfig({ ...POSTGRES, SWITCHBOARD_DB_POOL_SIZE: '8' }).workerConcurrency, 32)
    assert.equal(loadConfig({ ...POSTGRES, SWITCHBOARD_DB_POOL_SIZE: '50' }).workerConcurrency, 64)
  })

  it('an explicit concurrency wins over the pool-based default', () => {
    assert.equal(loadConfig({ ...POSTGRES, SWITCHBOARD_DB_POOL_SIZE: '8', SWITCHBOARD_WORKER_CONCURRENCY: '100' }).workerConcurrency, 100)
  })
})
