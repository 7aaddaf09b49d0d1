/**
 * Each rule's declared default severity is the one docs/spec/rule-catalog.md gives it, checked in
 * memory (rules.test.ts checks the same on its chdb set-up): the default a catalog shows and a
 * finding without its own severity takes, also for the rules whose every finding sets its own.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'

const catalog = new Map(
  [
    ...readFileSync(new URL('../../docs/spec/rule-catalog.md', import.meta.url), 'utf8').matchAll(
      /^\| `([a-z0-9-]+)` +\|.*\| (low|medium|high|critical) +\|$/gm,
    ),
  ].map((m) => [m[1]!, m[2]!]),
)

describe("rules' declared metadata", () => {
  for (const rule of RULES)
    it(`${rule.id}: declares the catalog's default severity`, () => {
      expect(catalog.has(rule.id)).toBe(true)
      expect(rule.severity).toBe(catalog.get(rule.id))
    })
})
