import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { errorCatalogue } from './errors.js'

// Importing the modules that define errors fills the catalogue (they all live in errors.ts today).
const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

describe('error catalogue', () => {
  it('documents every code in docs/errors.md with its api code and status', () => {
    assert.ok(errorCatalogue.size > 10)
    for (const [code, definition] of errorCatalogue) {
      const row = doc.split('\n').find((line) => line.includes(`<a id="${code.toLowerCase()}"></a>${code}`))
      assert.ok(row, `${code} is missing from docs/errors.md`)
      assert.ok(row.includes(`\`${definition.apiCode}\``), `${code}: api code ${definition.apiCode} not in its row`)
      if (!code.startsWith('GW_ERR_BOT_')) assert.ok(row.includes(`| ${definition.httpStatus} |`), `${code}: status ${definition.httpStatus} not in its row`)
    }
  })
  it('has no documented code that the catalogue lacks', () => {
    const documented = [...doc.matchAll(/<a id="(gw_err_[a-z_]+)"><\/a>/g)].map((m) => m[1]!.toUpperCase())
    for (const code of documented) assert.ok(errorCatalogue.has(code), `${code} is documented but not defined`)
  })
  it('uses GW_ERR_<AREA>_<CONDITION> names and snake_case api codes', () => {
    for (const [code, definition] of errorCatalogue) {
      assert.match(code, /^GW_ERR_(API|PROVIDER|WEBHOOK|BOT|QUEUE|STORE|CONFIG|MEDIA|INTERNAL)(_[A-Z0-9]+)*$/)
      assert.match(definition.apiCode, /^[a-z]+(_[a-z]+)*$/)
    }
  })
})
