// The security-critical modules under mutation testing (issue 31): what each mutates and the
// fast unit tests that run against its mutants. One table for stryker.config.mjs and
// scripts/mutation.mjs. Kafka, demo, bench and long integration tests are left out; the sink's
// tests open the embedded ClickHouse (chdb), which it needs.
export const MODULES = {
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
    mutate: ['src/reports/frameworks/**/*.ts'],
    tests: ['test/reports/*.test.ts'],
  },
  rules: {
    // lib/example-events.ts builds the rules' example events (test data) and lib/references.ts
    // holds the cited URLs (prose): neither is detection behaviour.
    mutate: [
      'src/detection/rules/**/*.ts',
      '!src/detection/rules/lib/example-events.ts',
      '!src/detection/rules/lib/references.ts',
    ],
    tests: [
      'test/detection/rules.test.ts',
      'test/detection/survivors.test.ts',
      'test/detection/mutation-*.test.ts',
    ],
  },
  events: {
    mutate: ['src/events/**/*.ts'],
    tests: ['test/events/*.test.ts'],
  },
}
