/**
 * The vitest configuration of mutation runs (`npm run test:mutation`, scripts/mutation.mjs): only
 * the fast unit tests of the module under mutation, named by scripts/mutation.mjs through
 * AUDTRAIL_MUTATION_TESTS (comma-separated globs). No Kafka, demo or bench test runs here.
 */
import type { RunnerTestFile } from 'vitest'
import { defineConfig } from 'vitest/config'
import type { Reporter, TestModule } from 'vitest/node'

const include = (process.env.AUDTRAIL_MUTATION_TESTS ?? '')
  .split(',')
  .map((glob) => glob.trim())
  .filter(Boolean)
if (include.length === 0)
  throw new Error('vitest.mutation.config.ts: AUDTRAIL_MUTATION_TESTS names no test files')

/** Whether a suite holds a test. */
const holdsTest = (tasks: RunnerTestFile['tasks']): boolean =>
  tasks.some((t) => t.type === 'test' || (t.type === 'suite' && holdsTest(t.tasks)))

/**
 * A test file that fails before any test runs (a mutant breaks code it runs while collecting)
 * reports no failed test, and Stryker's vitest runner (9.6) would call the mutant survived: this
 * reporter gives such a file one failed test, so that the mutant counts as killed, as it is by
 * the real suite.
 */
const fileFailures: Reporter = {
  onTestRunEnd(modules: readonly TestModule[]) {
    for (const file of modules.map((m) => (m as unknown as { task: RunnerTestFile }).task))
      if (file.result?.state === 'fail' && !holdsTest(file.tasks))
        file.tasks.push({
          type: 'test',
          id: `${file.id}_load`,
          name: 'the test file loads',
          mode: 'run',
          file,
          meta: {},
          annotations: [],
          artifacts: [],
          result: { state: 'fail', errors: file.result.errors },
        } as unknown as RunnerTestFile['tasks'][number])
  },
}

export default defineConfig({
  plugins: [
    {
      // Stryker's vitest runner (9.x) starts vitest with `pool: 'threads'`, which overrides this
      // file; threads share one process, and a second chdb data directory in one process crashes
      // it (SIGSEGV). This hook runs after the overrides are merged and puts forks back.
      name: 'audtrail-mutation-forks',
      configureVitest({ project }) {
        project.config.pool = 'forks'
      },
    },
  ],
  test: {
    include,
    reporters: ['default', fileFailures],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One process per test file: the embedded ClickHouse engine allows one data directory per
    // process, and the sink tests open their own.
    pool: 'forks',
  },
})
