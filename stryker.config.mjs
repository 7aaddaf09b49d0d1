// StrykerJS configuration of `npm run test:mutation` (scripts/mutation.mjs), one part at a time:
// AUDTRAIL_MUTATION_PART names a part (or a group of parts) of scripts/mutation/modules.mjs, which
// says what is mutated and which fast unit tests run (vitest.mutation.config.ts reads them from
// AUDTRAIL_MUTATION_TESTS). Reports and incremental state go to the git-ignored .cache/stryker/.
// Design notes: docs/design/mutation.md.
import { RUNS } from './scripts/mutation/modules.mjs'

const name = process.env.AUDTRAIL_MUTATION_PART ?? ''
const part = RUNS[name]
if (!part)
  throw new Error(
    `stryker.config.mjs: set AUDTRAIL_MUTATION_PART to one of ${Object.keys(RUNS).join(', ')}`,
  )
process.env.AUDTRAIL_MUTATION_TESTS = part.tests.join(',')
const dir = `.cache/stryker/${name}`

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner', './scripts/mutation/prose-ignorer.mjs'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: part.mutate,
  // Prose and example data in rule and framework files (see scripts/mutation/prose-ignorer.mjs).
  ignorers: ['prose'],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: `${dir}/incremental.json`,
  reporters: ['json', 'clear-text', 'progress'],
  jsonReporter: { fileName: `${dir}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: `.cache/stryker/tmp/${name}`,
  // Two cores shared with other work: one test process at a time.
  concurrency: 1,
  // A part may set a lower per-mutant timeout (modules.mjs `timeoutMS`): see its reason there.
  timeoutMS: part.timeoutMS ?? 30_000,
  // The sandbox copies only what the tests need.
  ignorePatterns: ['dist', 'data', 'coverage', '.cache', 'bench', 'dashboards', 'docs/**/*.png'],
  cleanTempDir: true,
}
