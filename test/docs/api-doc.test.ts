/** docs/api.md lists exactly the framework ids the API and the CLI accept. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { FRAMEWORK_IDS } from '../../src/reports/control.js'

const DOC = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8')

describe('docs/api.md', () => {
  it('lists every framework id, and only those', () => {
    const section = DOC.slice(DOC.indexOf('### Framework ids'), DOC.indexOf('## Endpoints'))
    const ids = [...section.matchAll(/^\| `([a-z0-9.-]+)` +\|/gm)].map((m) => m[1])
    expect(ids).toEqual([...FRAMEWORK_IDS])
  })
})
