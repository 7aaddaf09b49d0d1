// `npm run test:mutation [-- --module NAME[,NAME...]] [-- --force] [-- --report-only]`: StrykerJS mutation
// testing of the security-critical modules (issue 31). One Stryker run per part of
// scripts/mutation/modules.mjs (a small module is one part; events and rules have several), each
// incremental (.cache/stryker/<part>/incremental.json: only mutants whose code or covering tests
// changed run again). NAME is a module (`rules`) or one part (`rules/expired-token-accepted`).
// Prints each module's mutation score and ends with one JSON line. The score is Stryker's
// standard mutation score:
//   (killed + timeout) / (killed + timeout + survived + no coverage)
// Ignored mutants (prose and examples of rules, equivalent ones disabled with a reason) and
// compile or runtime errors count in neither part. --report-only re-reads the last reports;
// --force tests every mutant again (Stryker's incremental mode may reuse the result of a mutant
// that runs at module load, a static one, after the tests that would kill it were added).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MODULES, moduleOf, PARTS } from './mutation/modules.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const args = process.argv.slice(2)
const at = args.indexOf('--module')
const names = at >= 0 ? (args[at + 1] ?? '').split(',').filter(Boolean) : Object.keys(MODULES)
const unknown = names.filter((name) => !MODULES[name] && !PARTS[name])
if (unknown.length > 0 || names.length === 0) {
  console.error(
    `unknown module ${unknown.join(', ')}; modules: ${Object.keys(MODULES).join(', ')}; parts: ${Object.keys(PARTS).join(', ')}`,
  )
  process.exit(2)
}
const parts = [...new Set(names.flatMap((name) => MODULES[name] ?? [name]))]
const reportOnly = args.includes('--report-only')

const STATUS = {
  Killed: 'killed',
  Timeout: 'timeout',
  Survived: 'survived',
  NoCoverage: 'noCoverage',
  Ignored: 'ignored',
}
const emptyCounts = () => ({
  killed: 0,
  timeout: 0,
  survived: 0,
  noCoverage: 0,
  ignored: 0,
  errors: 0,
})
const scoreOf = (c) => {
  const detected = c.killed + c.timeout
  const valid = detected + c.survived + c.noCoverage
  return valid === 0 ? 100 : Math.round((detected / valid) * 10_000) / 100
}

// A `mutate` glob (`*`, a `**` directory prefix) as a regular expression over a relative path.
function globRegExp(glob) {
  const source = glob
    .split(/(\*\*\/|\*)/)
    .map((t) =>
      t === '**/' ? '(?:.*/)?' : t === '*' ? '[^/]*' : t.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('')
  return new RegExp(`^${source}$`)
}

/** Whether the part mutates `file` (its `mutate` globs, `!` ones excluding). */
function mutatedBy(part, file) {
  const globs = PARTS[part].mutate
  const hit = (g) => globRegExp(g).test(file)
  return (
    globs.some((g) => !g.startsWith('!') && hit(g)) &&
    !globs.some((g) => g.startsWith('!') && hit(g.slice(1)))
  )
}

/**
 * Counts and undetected mutants of one part from Stryker's JSON report. Only the files the part
 * mutates now: an incremental report keeps the files of earlier runs, also those since left out.
 */
function read(report, part) {
  const counts = emptyCounts()
  const undetected = []
  for (const [file, { mutants }] of Object.entries(report.files)) {
    if (!mutatedBy(part, file)) continue
    for (const m of mutants) {
      counts[STATUS[m.status] ?? 'errors']++
      if (m.status === 'Survived' || m.status === 'NoCoverage')
        undetected.push(
          `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.status}` +
            (m.replacement === undefined
              ? ''
              : ` -> ${JSON.stringify(m.replacement).slice(0, 80)}`),
        )
    }
  }
  return { counts, undetected }
}

const started = Date.now()
const results = {}
let failed = false
for (const part of parts) {
  const t0 = Date.now()
  if (!reportOnly) {
    console.log(`\n== mutation: ${part} (${PARTS[part].mutate.join(' ')})`)
    const extra = args.includes('--force') ? ['--force'] : []
    const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...extra], {
      stdio: 'inherit',
      env: { ...process.env, AUDTRAIL_MUTATION_PART: part },
    })
    if (run.status !== 0) {
      console.error(`mutation: stryker failed on ${part} (exit ${run.status})`)
      failed = true
      continue
    }
  }
  const file = `.cache/stryker/${part}/mutation.json`
  if (!existsSync(file)) {
    console.error(`mutation: no report for ${part} (${file})`)
    failed = true
    continue
  }
  const { counts, undetected } = read(JSON.parse(readFileSync(file, 'utf8')), part)
  results[part] = { counts, seconds: reportOnly ? undefined : Math.round((Date.now() - t0) / 1000) }
  if (undetected.length > 0) {
    console.log(`\n${part}: ${undetected.length} undetected`)
    for (const line of undetected) console.log(`  ${line}`)
  }
}

// Per module: its parts' counts added up (a module is complete when all its parts ran).
const modules = {}
for (const [part, { counts, seconds }] of Object.entries(results)) {
  const name = moduleOf(part)
  const m = (modules[name] ??= { ...emptyCounts(), seconds: 0, parts: 0 })
  for (const key of Object.keys(counts)) m[key] += counts[key]
  m.seconds = seconds === undefined ? undefined : (m.seconds ?? 0) + seconds
  m.parts++
}
const pad = (v, n) => String(v).padStart(n)
console.log(
  '\nmodule/part                            score   killed timeout survived no-cov ignored errors seconds',
)
const row = (name, c, seconds) =>
  console.log(
    `${name.padEnd(36)} ${scoreOf(c).toFixed(2).padStart(6)} % ${pad(c.killed, 7)} ${pad(c.timeout, 7)} ${pad(c.survived, 8)} ${pad(c.noCoverage, 6)} ${pad(c.ignored, 7)} ${pad(c.errors, 6)} ${pad(seconds ?? '-', 7)}`,
  )
for (const [name, m] of Object.entries(modules)) {
  row(
    `${name}${MODULES[name].length > 1 ? ` (${m.parts}/${MODULES[name].length} parts)` : ''}`,
    m,
    m.seconds,
  )
  if (MODULES[name].length > 1)
    for (const part of MODULES[name])
      if (results[part]) row(`  ${part}`, results[part].counts, results[part].seconds)
}
console.log(
  JSON.stringify({
    bench: 'mutation',
    score: '(killed+timeout)/(killed+timeout+survived+noCoverage)',
    modules: Object.fromEntries(
      Object.entries(modules).map(([name, m]) => [
        name,
        {
          score: scoreOf(m),
          complete: m.parts === MODULES[name].length,
          killed: m.killed,
          timeout: m.timeout,
          survived: m.survived,
          noCoverage: m.noCoverage,
          ignored: m.ignored,
          errors: m.errors,
          seconds: m.seconds,
        },
      ]),
    ),
    seconds: Math.round((Date.now() - started) / 1000),
  }),
)
process.exit(failed ? 1 : 0)
