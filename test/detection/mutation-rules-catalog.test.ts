/**
 * Each rule's findings carry the default severity docs/spec/rule-catalog.md gives it, unless an
 * example declares an escalation: checked in memory for the event rules (the fast test set of their
 * mutation runs; test/detection/rules.test.ts checks the declared severities on chdb).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { EventRule } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'

const catalog = new Map(
  [
    ...readFileSync(new URL('../../docs/spec/rule-catalog.md', import.meta.url), 'utf8').matchAll(
      /^\| `([a-z0-9-]+)` +\|.*\| (low|medium|high|critical) +\|$/gm,
    ),
  ].map((m) => [m[1]!, m[2]!]),
)

describe('rule severities, as the catalog gives them', () => {
  it('reads a severity for every rule from the catalog', () => {
    expect([...catalog.keys()].sort()).toEqual(RULES.map((r) => r.id).sort())
  })

  for (const rule of RULES.filter((r): r is EventRule => r.kind === 'event'))
    it(`${rule.id}: findings of the examples carry the catalog's severity or the declared one`, () => {
      const seen: string[] = []
      for (const example of rule.examples.filter((e) => e.fires))
        for (const d of runEventExample(rule, example))
          seen.push(
            `${example.name}: ${d.severity ?? rule.severity} ${example.severity ?? catalog.get(rule.id)}`,
          )
      expect(seen.length).toBeGreaterThan(0)
      for (const line of seen) {
        const [got, want] = line.split(': ').at(-1)!.split(' ')
        expect(got, line).toBe(want)
      }
    })
})
