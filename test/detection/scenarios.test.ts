import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStreamingDetector } from '../../src/detection/engine.js'
import { runExample } from '../../src/detection/examples.js'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import type { Rule, RuleExample } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import { runScheduledRules } from '../../src/detection/scheduler.js'
import { createLogger } from '../../src/logger.js'
import { ingest, sinkTarget } from '../../src/pipeline/ingest.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// Every rule's examples again, now through the real pipeline (validation, canonicalization,
// ClickHouse, the streaming detector, the scheduler) into findings, each under its own tenant.
const storage = testStorage('scenarios')
const sink = createClickHouseSink(storage)
const store = createFindingsStore(storage)
const log = createLogger('silent')
const reference = testStorage('scenarios_ref')

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  await migrate(reference, { retention: RETENTION })
})
afterAll(closeTestStorages)

/** The audience, replay and drift rules: silent on every benign scenario. */
const BOUNDARY_RULES = [
  'aud-mismatch-accepted',
  'aud-mismatch-rejected',
  'cross-audience-replay',
  'resource-uri-drift',
  'granted-aud-mismatch',
]
const BENIGN =
  /multi-audience|refresh switching|refresh that switches|within the original grant|alias|separate, correctly bound|skew|leeway/i

/**
 * Shift an example in time, by whole minutes, so that its last event happened one to two minutes
 * ago: the pipeline refuses events far in the future or older than the retention, and examples
 * use fixed dates.
 */
function shifted(events: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const last = Math.max(...events.map((e) => Date.parse(e.occurred_at as string)))
  // By whole minutes: the examples' minutes stay the clock's minutes, so a rule counting per
  // minute (token-usage-spike's examples) sees the same counts whatever the second it runs at.
  const offsetS = Math.floor((Date.now() - 60_000 - last) / 60_000) * 60
  return events.map((e) => {
    const token = e.token as Record<string, unknown> | undefined
    const proof = e.proof as Record<string, unknown> | undefined
    const move = (v: unknown) => (typeof v === 'number' ? v + offsetS : v)
    return {
      ...e,
      occurred_at: new Date(Date.parse(e.occurred_at as string) + offsetS * 1000).toISOString(),
      ...(token ? { token: { ...token, iat: move(token.iat), exp: move(token.exp) } } : {}),
      ...(proof?.iat !== undefined ? { proof: { ...proof, iat: move(proof.iat) } } : {}),
    }
  })
}

let n = 0
async function runThroughPipeline(rule: Rule, example: RuleExample) {
  // The previous run's window ended at its start time: this run's events arrive after it.
  await new Promise((r) => setTimeout(r, 5))
  const tenant = `sc-${++n}`
  const registry = example.registry ? parseResourceRegistry(example.registry) : undefined
  const params = example.params ? { [rule.id]: example.params } : undefined
  const detector = createStreamingDetector({ rules: RULES, store, registry, logger: log, params })
  const results = await ingest(
    shifted(example.events).map((e) => ({ value: { ...e, tenant } })),
    {
      requestId: `scenario-${n}`,
      receivedAt: Date.now(),
      retentionDays: 400,
      aliases: registry?.aliases,
    },
    sinkTarget(sink, detector),
  )
  expect(results.filter((r) => r.status === 'rejected').map((r) => JSON.stringify(r))).toEqual([])
  await runScheduledRules(
    {
      storage,
      rules: RULES,
      store,
      registry,
      logger: log,
      params,
      latenessMs: 0,
      initialLookbackMs: 60_000,
    },
    Date.now() + 1,
  )
  const rs = await storage.client.query({
    query:
      'SELECT rule_id, severity, keys FROM scenarios.findings FINAL WHERE tenant = {tenant:String}',
    query_params: { tenant },
    format: 'JSONEachRow',
  })
  return rs.json<{ rule_id: string; severity: string; keys: Record<string, string> }>()
}

const cases = RULES.flatMap((rule) =>
  rule.examples.map((example) => [rule.id, rule, example] as const),
)

describe('each rule through the pipeline', () => {
  it.each(cases.filter(([, , e]) => e.fires))(
    '%s fires on its attack: %#',
    async (_, rule, example) => {
      const findings = (await runThroughPipeline(rule, example)).filter(
        (f) => f.rule_id === rule.id,
      )
      expect(findings.length, example.name).toBeGreaterThan(0)
      const expected = await runExample(rule, example, reference, `ref-${n}`)
      expect(findings.map((f) => f.keys)).toEqual(
        expect.arrayContaining(expected.map((d) => ({ ...d.keys }))),
      )
      if (example.severity) expect(findings.map((f) => f.severity)).toContain(example.severity)
    },
  )

  it.each(cases.filter(([, , e]) => !e.fires))(
    '%s stays silent on its negative: %#',
    async (_, rule, example) => {
      const findings = await runThroughPipeline(rule, example)
      expect(
        findings.filter((f) => f.rule_id === rule.id),
        example.name,
      ).toEqual([])
      if (BENIGN.test(example.name))
        expect(
          findings.filter((f) => BOUNDARY_RULES.includes(f.rule_id)),
          `benign: ${example.name}`,
        ).toEqual([])
    },
  )
})
