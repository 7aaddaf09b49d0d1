/**
 * The vitest configuration of mutation runs (`npm run test:mutation`, scripts/mutation.mjs): only
 * the fast unit tests of the module under mutation, named by scripts/mutation.mjs through
 * AUDTRAIL_MUTATION_TESTS (comma-separated globs). No Kafka, demo or bench test runs here.
 */
import { defineConfig } from 'vitest/config'

const include = (process.env.AUDTRAIL_MUTATION_TESTS ?? '')
  .split(',')
  .map((glob) => glob.trim())
  .filter(Boolean)
if (include.length === 0)
  throw new Error('vitest.mutation.config.ts: AUDTRAIL_MUTATION_TESTS names no test files')

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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One process per test file: the embedded ClickHouse engine allows one data directory per
    // process, and the sink tests open their own.
    pool: 'forks',
  },
})
