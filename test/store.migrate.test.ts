import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { sql } from 'kysely'
import { DIALECTS, createTestStore, skipReason } from './helpers/dialects.js'

for (const dialect of DIALECTS) {
  describe(`${dialect}: migrations`, async () => {
    const skip = await skipReason(dialect)
    it('creates every table and reports ready; running again is a no-op', { skip }, async () => {
      const { store, cleanup } = await createTestStore(dialect)
      try {
        assert.equal(await store.isReady(), true)
        await store.migrate()
        const rows = await sql<{ n: number }>`select count(*) as n from jobs`.execute(store.db)
        assert.equal(Number(rows.rows[0]?.n), 0)
      } finally {
        await cleanup()
      }
    })
  })
}
