// The security-critical modules under mutation testing (issue 31): what each mutates and the
// fast unit tests that run against its mutants. One table for stryker.config.mjs and
// scripts/mutation.mjs. Kafka, demo, bench and long integration tests are left out; the sink's,
// the exceptions' and the rules' tests open the embedded ClickHouse (chdb), which they need.
//
// The two large modules (events, rules) are cut into parts, one Stryker run and one incremental
// file each, so that one part can be run (and re-run) alone; a module's score adds up its parts.
import { readdirSync, readFileSync } from 'node:fs'

const RULE_TESTS = [
  'test/detection/rules.test.ts',
  'test/detection/survivors.test.ts',
  'test/detection/mutation-rules*.test.ts',
]
/**
 * Event rules run their examples in memory (mutation-rules-events, no rules.test.ts on chdb), the
 * catalog's severities, and their own tests (OWN_TESTS): a mutant a rule's module-level code makes
 * (a static one) runs every test of its run, so each rule runs only the tests about it. Other
 * tests of the suite may kill more: the score is a lower bound.
 */
const EVENT_RULE_TESTS = [
  'test/detection/mutation-rules-events.test.ts',
  'test/detection/mutation-rules-catalog.test.ts',
  'test/detection/mutation-rules-metadata.test.ts',
]
const SURVIVORS = 'test/detection/survivors.test.ts'
const own = (name) => `test/detection/mutation-rules-${name}.test.ts`
const RULES_DIR = new URL('../../src/detection/rules/', import.meta.url)
const ruleFiles = readdirSync(RULES_DIR)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.slice(0, -3))
  .sort()
/**
 * The rules whose SQL runs on ClickHouse (`kind: 'scheduled'`, read from the file): their examples
 * need chdb (rules.test.ts).
 */
const SCHEDULED = new Set(
  ruleFiles.filter((f) =>
    /kind: 'scheduled'/.test(readFileSync(new URL(`${f}.ts`, RULES_DIR), 'utf8')),
  ),
)

/** A rule's own test files, beyond the shared sets (streaming and restart tests, the spike's threshold on chdb). */
const OWN_TESTS = {
  'aud-mismatch-accepted': [SURVIVORS],
  'aud-mismatch-rejected': [own('presentations')],
  'bound-token-downgrade': [own('presentations')],
  'cross-audience-replay': [SURVIVORS, own('cross-audience'), own('audited')],
  'delegation-chain-violation': [own('delegation')],
  'dpop-htu-mismatch': [own('presentations')],
  // dpop-proof-replay.test.ts (restart and hand-over on chdb: the engine's behaviour) stays out.
  'dpop-proof-replay': [own('dpop-replay'), own('replay-count')],
  'expired-token-accepted': [SURVIVORS, own('expired')],
  'granted-aud-mismatch': [own('audience')],
  'long-lived-token': [own('posture')],
  'mcp-tool-header-mismatch': [own('presentations')],
  'mcp-unvalidated-headers': [own('mcp-headers')],
  'missing-resource-indicator': [SURVIVORS, own('missing-resource'), own('audited')],
  'multi-audience-token': [SURVIVORS, own('multi-audience')],
  'overbroad-audience': [own('audience')],
  'proof-key-mismatch': [own('presentations')],
  'scope-not-valid-for-resource': [own('posture')],
  'token-passthrough': [
    own('passthrough'),
    own('passthrough-survivors'),
    'test/detection/passthrough-order.test.ts',
  ],
  'token-usage-spike': ['test/detection/spike-threshold.test.ts'],
  'unvalidated-audience': [own('presentations')],
}

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
  // The helpers run the in-memory rule tests only (every event rule's examples, the scheduled
  // rules' parameters and findings, the helpers' own tests): rules.test.ts on chdb, instrumented,
  // passed the 60 s test timeout in the dry run on this loaded machine (2026-12-08, load 22), and
  // every static mutant would run it. Alone, `rules/lib` is a lower bound, like the event rules'.
  'rules/lib': {
    mutate: [
      'src/detection/rules/index.ts',
      'src/detection/rules/lib/*.ts',
      '!src/detection/rules/lib/example-events.ts',
      '!src/detection/rules/lib/references.ts',
    ],
    tests: ['test/detection/mutation-rules*.test.ts'],
  },
  ...Object.fromEntries(
    ruleFiles.map((f) => [
      `rules/${f}`,
      {
        mutate: [`src/detection/rules/${f}.ts`],
        tests: [...(SCHEDULED.has(f) ? RULE_TESTS : EVENT_RULE_TESTS), ...(OWN_TESTS[f] ?? [])],
      },
    ]),
  ),
  // The raw-token screen in two parts (about 870 mutants in all, over an hour on this machine):
  // the scan (where a JWT is and what its header is) and what is cut (escapes, strings, payloads).
  'events/raw-token-scan': {
    mutate: [
      'src/events/raw-token/find.ts',
      'src/events/raw-token/header.ts',
      'src/events/raw-token/chars.ts',
    ],
    tests: ['test/events/raw-token.test.ts', 'test/events/mutation-raw-token*.test.ts'],
    // As the cut part's below (a mutant that stalls a scan loop); read its timeouts the same way
    // (2026-12-08: all 8 loop, bench/README.md).
    timeoutMS: 10_000,
  },
  'events/raw-token-cut': {
    mutate: [
      'src/events/raw-token.ts',
      'src/events/raw-token/text.ts',
      'src/events/raw-token/payload.ts',
      'src/events/raw-token/escapes.ts',
    ],
    tests: ['test/events/raw-token.test.ts', 'test/events/mutation-raw-token*.test.ts'],
    // Mutants that make the escape decoder loop forever each waited out the 30 s timeout (16 in
    // the first 155 tested, 8 minutes). Stryker's limit is 1.5 times the covering tests' time in
    // the dry run (all 100 tests: 4.6 s at a load of 1) plus this. Under a load of 20 and more an
    // honest but slower mutant can reach it too: read each timed-out mutant after a run (2026-12-08:
    // 22 of 28 loop, 2 are killed by tests, 4 pass by hand and are counted as equivalent,
    // bench/README.md).
    timeoutMS: 10_000,
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

/**
 * Runs that measure several parts at once: one Stryker run (one start, one dry run) mutating the
 * files of all its parts, with the union of their tests; its report is read per part. A full
 * `rules` measurement runs these instead of one run per rule file (25 starts); `--module
 * rules/<file>` still runs one file alone. The event rules share one test set; the scheduled
 * rules need chdb (rules.test.ts).
 */
const group = (parts) => ({
  mutate: [...new Set(parts.flatMap((p) => PARTS[p].mutate))],
  tests: [...new Set(parts.flatMap((p) => PARTS[p].tests))],
  parts,
})
const byTests = (...names) => group(names.map((f) => `rules/${f}`))
export const GROUPS = {
  // Event rules that share their tests, so that a static mutant runs few test files.
  'rules/presentation-rules': byTests(
    'aud-mismatch-rejected',
    'bound-token-downgrade',
    'dpop-htu-mismatch',
    'mcp-tool-header-mismatch',
    'proof-key-mismatch',
    'unvalidated-audience',
  ),
  'rules/posture-rules': byTests(
    'granted-aud-mismatch',
    'long-lived-token',
    'overbroad-audience',
    'scope-not-valid-for-resource',
  ),
  'rules/audited-rules': byTests(
    'aud-mismatch-accepted',
    'cross-audience-replay',
    'expired-token-accepted',
    'missing-resource-indicator',
    'multi-audience-token',
  ),
  'rules/delegation-and-headers': byTests('delegation-chain-violation', 'mcp-unvalidated-headers'),
  'rules/replay-and-passthrough': byTests('dpop-proof-replay', 'token-passthrough'),
  // The shared helpers run the same tests as the scheduled rules (every rule's examples on chdb).
  'rules/lib-and-scheduled': group([
    'rules/lib',
    ...ruleFiles.filter((f) => SCHEDULED.has(f)).map((f) => `rules/${f}`),
  ]),
}
const inGroups = new Set(Object.values(GROUPS).flatMap((g) => g.parts))
const ungrouped = ruleFiles.filter((f) => !inGroups.has(`rules/${f}`))
if (ungrouped.length > 0)
  throw new Error(`scripts/mutation/modules.mjs: rule files in no group: ${ungrouped.join(', ')}`)

/** What one Stryker run mutates and tests, by name: a part, or a group of parts. */
export const RUNS = {
  ...Object.fromEntries(Object.entries(PARTS).map(([name, p]) => [name, { ...p, parts: [name] }])),
  ...GROUPS,
}

/** The module a part belongs to: its name up to the first slash. */
export const moduleOf = (part) => part.split('/')[0]

/** Module -> its parts, in table order. */
export const MODULES = {}
for (const part of Object.keys(PARTS)) (MODULES[moduleOf(part)] ??= []).push(part)
