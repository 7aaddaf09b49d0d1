// `npm test`: installs what is missing, builds, runs lint/format/type checks, starts a real local
// Kafka, runs the whole vitest suite, prints `N passed, N failed` and stops what it started.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
const started = Date.now()

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...options })
  return result.status ?? 1
}

/** The packages of package.json (dependencies and development ones) not in node_modules. */
function missingPackages() {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
    (name) => !existsSync(`node_modules/${name}/package.json`),
  )
}

function step(message) {
  console.log(`\n== ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
}

// 1. npm packages: install when node_modules is missing or older than the lockfile, or lacks a
// package of package.json. The server's packages (ClickHouse engine and client, Kafka, Fastify)
// and the demo's are development dependencies (optional peers of the published package), so
// development dependencies are installed even where npm is configured to omit them.
const hidden = 'node_modules/.package-lock.json'
const missing = existsSync('node_modules') ? missingPackages() : []
if (
  !existsSync(hidden) ||
  statSync(hidden).mtimeMs < statSync('package-lock.json').mtimeMs ||
  missing.length > 0
) {
  step(
    `installing npm packages (npm install)${missing.length ? `: ${missing.join(', ')} missing` : ''}`,
  )
  if (run('npm', ['install', '--include=dev', '--no-audit', '--no-fund']) !== 0) process.exit(1)
}
if (!existsSync('node_modules/@chdb/lib-linux-x64-gnu') && process.platform === 'linux') {
  console.error(
    'the embedded ClickHouse engine (@chdb/lib-linux-x64-gnu) is not installed: run `npm install`',
  )
  process.exit(1)
}

// 2. Build (the CLI tests run the compiled bin) and static checks. dist/ is emptied first: the API
// loads every module of dist/api/routes/, and one left by an earlier build would be loaded too.
rmSync('dist', { recursive: true, force: true })
const checks = []
for (const [name, cmd, args] of [
  ['build', 'npx', ['tsc', '-p', 'tsconfig.build.json']],
  ['types', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', 'npx', ['eslint', '.']],
  ['format', 'npx', ['prettier', '--check', '--log-level', 'warn', '.']],
]) {
  step(`check: ${name}`)
  checks.push([name, run(cmd, args) === 0])
}

// 3. A real Kafka broker for the integration tests; reused when one already runs.
step('kafka')
const { ensureKafka, fetchKafka, stopKafka } = await import('./kafka.mjs')
let kafka
try {
  // The jars are needed even when a broker already runs: some tests start brokers of their own.
  await fetchKafka()
  kafka = await ensureKafka()
} catch (err) {
  console.error(`kafka: could not start: ${err instanceof Error ? err.message : err}`)
  process.exit(1)
}

// 4. The suite.
step('vitest')
const report = '.vitest-results.json'
rmSync(report, { force: true })
// The tests' temporary files (engine data dirs, spools, journals) go to a directory of this
// run, removed once every test process has ended (they were left in the system temp dir).
const scratch = mkdtempSync(join(tmpdir(), 'audtrail-npm-test-'))
run(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
  {
    env: { ...process.env, AUDTRAIL_TEST_KAFKA_BROKERS: kafka.brokers, TMPDIR: scratch },
  },
)
// 5. No raw JWT where none may be: every file the tests left in the scratch directory (each
// embedded engine's data directory, spools, journals) and the local broker's dead-letter topics.
step('raw-token scan')
const { scanForRawJwts } = await import('./raw-token-scan.mjs')
const kafkaData = join(root, '.cache', 'kafka')
const dlqDirs = [join(kafkaData, 'data')]
try {
  for (const port of readdirSync(join(kafkaData, 'instances')))
    dlqDirs.push(join(kafkaData, 'instances', port, 'data'))
} catch {
  // no broker of its own was started by a test
}
try {
  const scanned = [
    // tsx's transform cache holds the compiled tests themselves (their hostile samples).
    await scanForRawJwts([scratch], { only: (name) => !/^tsx-/.test(name) }),
    await scanForRawJwts(dlqDirs, { only: (name) => /dlq/i.test(name) }),
  ]
  const hits = scanned.flatMap((s) => s.hits)
  for (const hit of hits) console.error(`raw JWT found in ${hit}`)
  console.log(`${scanned.reduce((n, s) => n + s.files, 0)} files scanned for raw JWTs`)
  checks.push(['raw-token scan', hits.length === 0])
} catch (err) {
  console.error(`raw-token scan failed: ${err instanceof Error ? err.message : err}`)
  checks.push(['raw-token scan', false])
}
try {
  rmSync(scratch, { recursive: true, force: true })
} catch (err) {
  console.error(`could not remove ${scratch}: ${err instanceof Error ? err.message : err}`)
}
if (kafka.started) {
  step('stopping kafka')
  await stopKafka()
}

let passed = 0
let failed = 0
let skipped = 0
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, 'utf8'))
  passed = results.numPassedTests
  failed = results.numFailedTests
  skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0)
  // A file that fails to load, or whose beforeAll throws, fails with no failed test of its own
  // (its tests are reported skipped): count each such file as a failure.
  failed += results.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  ).length
} else {
  console.error('vitest wrote no results')
  failed += 1
}
for (const [, ok] of checks) {
  if (ok) passed += 1
  else failed += 1
}

console.log(
  `\nstatic checks: ${checks.map(([n, ok]) => `${n} ${ok ? 'ok' : 'FAILED'}`).join(', ')} (counted below)`,
)
console.log(`wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
