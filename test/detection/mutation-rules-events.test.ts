/**
 * Every event rule's examples, run in memory (runEventExample, no ClickHouse): the fast test set
 * of the mutation runs on event rules (scripts/mutation/modules.mjs). test/detection/rules.test.ts
 * runs the same examples, and the scheduled rules', through runExample on chdb.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { EventRule } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'

const EVENT_RULES = RULES.filter((r): r is EventRule => r.kind === 'event')

describe('event rules, in memory', () => {
  it('are the event rules of the catalog', () => {
    expect(EVENT_RULES.map((r) => r.id).sort()).toEqual([
      'aud-mismatch-accepted',
      'aud-mismatch-rejected',
      'bound-token-downgrade',
      'cross-audience-replay',
      'delegation-chain-violation',
      'dpop-htu-mismatch',
      'dpop-proof-replay',
      'expired-token-accepted',
      'granted-aud-mismatch',
      'long-lived-token',
      'mcp-tool-header-mismatch',
      'mcp-unvalidated-headers',
      'missing-resource-indicator',
      'multi-audience-token',
      'overbroad-audience',
      'proof-key-mismatch',
      'scope-not-valid-for-resource',
      'token-passthrough',
      'unvalidated-audience',
    ])
  })

  for (const rule of EVENT_RULES)
    it(`${rule.id}: fires on each positive example with its dedup key and severity, and only there`, () => {
      const problems: string[] = []
      for (const example of rule.examples) {
        const where = example.name
        const detections = runEventExample(rule, example)
        if (example.fires && detections.length === 0) problems.push(`${where}: did not fire`)
        if (!example.fires && detections.length > 0)
          problems.push(`${where}: fired ${JSON.stringify(detections.map((d) => d.keys))}`)
        for (const d of detections) {
          const keys = Object.keys(d.keys).sort()
          if (keys.join() !== [...rule.dedupKey].sort().join())
            problems.push(`${where}: keys ${keys.join()} are not the dedup key`)
          if (Object.values(d.keys).some((v) => typeof v !== 'string'))
            problems.push(`${where}: a key value is not a string`)
          if (d.eventIds.length === 0) problems.push(`${where}: no event ids`)
          if (!Number.isFinite(d.at)) problems.push(`${where}: no time`)
          const severity = d.severity ?? rule.severity
          if (example.severity !== undefined && severity !== example.severity)
            problems.push(`${where}: severity ${severity}, expected ${example.severity}`)
        }
      }
      expect(problems).toEqual([])
    })
})
