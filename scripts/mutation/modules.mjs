// The security-critical modules under mutation testing (issue 31): what each mutates and the
// fast unit tests that run against its mutants. One table for stryker.config.mjs and
// scripts/mutation.mjs. Kafka, demo, bench and long integration tests are left out; the sink's,
// the exceptions' and the rules' tests open the embedded ClickHouse (chdb), which they need.
//
// The two large modules (events, rules) are cut into parts, one Stryker run and one incremental
// file each, so that one part can be run (and re-run) alone; a module's score adds up its parts.
import { readdirSync } from 'node:fs'

const RULE_TESTS = [
  'test/detection/rules.test.ts',
  'test/detection/survivors.test.ts',
  'test/detection/mutation-rules*.test.ts',
]
/** Event rules run their examples in memory (mutation-rules-events): no rules.test.ts on chdb. */
const EVENT_RULE_TESTS = [
  'test/detection/survivors.test.ts',
  'test/detection/passthrough-order.test.ts',
  'test/detection/mutation-rules*.test.ts',
]
/** The rules whose SQL runs on ClickHouse: their examples need chdb (rules.test.ts). */
const SCHEDULED = new Set([
  'new-resource-for-client',
  'resource-uri-drift',
  'token-multi-source',
  'token-usage-spike',
])
const ruleFiles = readdirSync(new URL('../../src/detection/rules/', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.slice(0, -3))
  .sort()

/** name -> { module, mutate, tests }; a part's name is `<module>/<part>`. */
export const PARTS = {
  auth: {
    mutate: ['src/api/auth.ts'],
    tests: ['test/api/auth-claims.test.ts', 'test/api/mutation-auth.test.ts'],
  },
  exceptions: {
    mutate: ['src/detection/exceptions.ts'],
    tests: [
      'test/detection/engine.test.ts',
      'test/detection/exceptions-expiry.test.ts',
      'test/detection/mutation-exceptions.test.ts',
    ],
  },
  sink: {
    mutate: ['src/pipeline/sink.ts'],
    tests: [
      'test/pipeline/sink.test.ts',
      'test/pipeline/sink-repeat.test.ts',
      'test/pipeline/mutation-sink.test.ts',
    ],
  },
  metrics: {
    mutate: ['src/reports/metrics.ts'],
    tests: ['test/reports/*.test.ts'],
  },
  frameworks: {
    // Data read at module load: every test of the part runs against each of its mutants, so only
    // the tests that read the catalog (not the figures' chdb tests of metrics and status).
    mutate: ['src/frameworks/**/*.ts', 'src/reports/frameworks.ts'],
    tests: [
      'test/reports/catalog.test.ts',
      'test/reports/render.test.ts',
      'test/reports/survivors.test.ts',
      'test/reports/mutation-frameworks.test.ts',
    ],
  },
  // lib/example-events.ts builds the rules' example events (test data) and lib/references.ts
  // holds the cited URLs (prose): neither is detection behaviour, neither is mutated.
  'rules/lib': {
    mutate: [
      'src/detection/rules/index.ts',
      'src/detection/rules/lib/rows.ts',
      'src/detection/rules/lib/resources.ts',
    ],
    tests: RULE_TESTS,
  },
  ...Object.fromEntries(
    ruleFiles.map((f) => [
      `rules/${f}`,
      {
        mutate: [`src/detection/rules/${f}.ts`],
        tests: SCHEDULED.has(f) ? RULE_TESTS : EVENT_RULE_TESTS,
      },
    ]),
  ),
  'events/raw-token': {
    mutate: ['src/events/raw-token.ts', 'src/events/raw-token/**/*.ts'],
    tests: ['test/events/raw-token.test.ts', 'test/events/mutation-raw-token*.test.ts'],
  },
  'events/resource': {
    mutate: ['src/events/resource*.ts'],
    tests: ['test/events/resource.test.ts', 'test/events/mutation-resource*.test.ts'],
  },
  // The contract: schema, parse, reduce, clean, fingerprint, token key. The row mappings
  // (event-row.ts, rejected-row.ts) and topic names that moved into src/events have no fast test
  // of their own yet: not mutated here (not measured).
  'events/contract': {
    mutate: [
      'src/events/*.ts',
      '!src/events/raw-token.ts',
      '!src/events/resource*.ts',
      '!src/events/event-row.ts',
      '!src/events/rejected-row.ts',
      '!src/events/topics.ts',
    ],
    tests: [
      'test/events/schema.test.ts',
      'test/events/parse.test.ts',
      'test/events/reduce.test.ts',
      'test/events/fingerprint.test.ts',
      'test/events/contract-survivors.test.ts',
      'test/events/mutation-contract*.test.ts',
    ],
  },
}

/** The module a part belongs to: its name up to the first slash. */
export const moduleOf = (part) => part.split('/')[0]

/** Module -> its parts, in table order. */
export const MODULES = {}
for (const part of Object.keys(PARTS)) (MODULES[moduleOf(part)] ??= []).push(part)
