import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CONFIG_VARIABLES } from '../../src/config.js'
import { RULES } from '../../src/detection/rules/index.js'
import { renderConfigReference } from '../../src/docs/config-reference.js'
import { renderFrameworkCatalog, withFrameworkIdTable } from '../../src/docs/frameworks-catalog.js'
import { renderRuleCatalog } from '../../src/docs/rule-catalog.js'

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8')

describe('generated reference documents', () => {
  it('docs/configuration.md is what `npm run docs` writes today', () => {
    expect(doc('configuration.md')).toBe(renderConfigReference())
  })

  it('docs/rules.md is what `npm run docs` writes today', () => {
    expect(doc('rules.md')).toBe(renderRuleCatalog())
  })

  it('docs/spec/frameworks.md is what `npm run docs` writes today', () => {
    expect(doc('spec/frameworks.md')).toBe(renderFrameworkCatalog())
  })

  it("docs/api.md's framework id table is what `npm run docs` writes today", () => {
    const api = doc('api.md')
    expect(api).toBe(withFrameworkIdTable(api))
    // Not vacuous: a stale table is replaced.
    const stale = api.replace(/^\| `nist-800-207` .*\n/m, '')
    expect(stale).not.toBe(api)
    expect(withFrameworkIdTable(stale)).toBe(api)
  })

  it('the configuration reference lists every variable the configuration reads', () => {
    const text = renderConfigReference()
    const missing = CONFIG_VARIABLES.filter((name) => !text.includes(`| \`${name}\` |`))
    expect(missing).toEqual([])
  })

  it('every rule and every rule parameter is documented', () => {
    const text = renderRuleCatalog()
    const problems: string[] = []
    for (const rule of RULES) {
      if (!text.includes(`## \`${rule.id}\``)) problems.push(`${rule.id}: no section`)
      const schema = z.toJSONSchema(rule.params, { io: 'input' }) as {
        properties?: Record<string, { description?: string; default?: unknown }>
      }
      for (const [name, p] of Object.entries(schema.properties ?? {})) {
        if (!p.description) problems.push(`${rule.id}.${name}: no description`)
        if (!text.includes(`| \`${name}\` | \`${JSON.stringify(p.default)}\` |`))
          problems.push(`${rule.id}.${name}: default missing from the catalog`)
      }
    }
    expect(problems).toEqual([])
  })
})
