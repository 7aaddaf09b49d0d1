// `npm run test:mutation [-- --module NAME[,NAME...]] [-- --report-only]`: StrykerJS mutation
// testing of the security-critical modules (issue 31), one Stryker run per module of
// scripts/mutation/modules.mjs, each incremental (.cache/stryker/<module>/incremental.json: only
// mutants whose code or tests changed run again). Prints the mutation score of each module and
// ends with one JSON line. Score: Stryker's standard mutation score,
//   (killed + timeout) / (killed + timeout + survived + no coverage),
// ignored mutants (prose and examples of rules, `// Stryker disable` comments with a reason) and
// compile or runtime errors count in neither part. --report-only re-reads the last reports.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MODULES } from './mutation/modules.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const args = process.argv.slice(2)
const at = args.indexOf('--module')
const picked = at >= 0 ? (args[at + 1] ?? '').split(',').filter(Boolean) : Object.keys(MODULES)
const unknown = picked.filter((name) => !MODULES[name])
if (unknown.length > 0 || picked.length === 0) {
  console.error(`unknown module ${unknown.join(', ')}; modules: ${Object.keys(MODULES).join(', ')}`)
  process.exit(2)
}
const reportOnly = args.includes('--report-only')

const UNDETECTED = new Set(['Survived', 'NoCoverage'])

/** Counts and score of one module from Stryker's JSON report (mutation-testing-report-schema). */
function score(report) {
  const counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0 }
  const survivors = []
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      if (m.status === 'Killed') counts.killed++
      else if (m.status === 'Timeout') counts.timeout++
      else if (m.status === 'Survived') counts.survived++
      else if (m.status === 'NoCoverage') counts.noCoverage++
      else if (m.status === 'Ignored') counts.ignored++
      else counts.errors++
      if (UNDETECTED.has(m.status))
        survivors.push(
          `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.status}${m.replacement === undefined ? '' : ` -> ${JSON.stringify(m.replacement).slice(0, 80)}`}`,
        )
    }
  }
  const detected = counts.killed + counts.timeout
  const valid = detected + counts.survived + counts.noCoverage
  return {
    counts,
    survivors,
    score: valid === 0 ? 100 : Math.round((detected / valid) * 10_000) / 100,
  }
}

const started = Date.now()
const modules = {}
let failed = false
for (const name of picked) {
  const t0 = Date.now()
  if (!reportOnly) {
    console.log(`\n== mutation: ${name} (${MODULES[name].mutate.join(' ')})`)
    const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
      stdio: 'inherit',
      env: { ...process.env, AUDTRAIL_MUTATION_MODULE: name },
    })
    if (run.status !== 0) {
      console.error(`mutation: stryker failed on ${name} (exit ${run.status})`)
      failed = true
      continue
    }
  }
  const file = `.cache/stryker/${name}/mutation.json`
  if (!existsSync(file)) {
    console.error(`mutation: no report for ${name} (${file})`)
    failed = true
    continue
  }
  const result = score(JSON.parse(readFileSync(file, 'utf8')))
  modules[name] = {
    score: result.score,
    ...result.counts,
    seconds: reportOnly ? undefined : Math.round((Date.now() - t0) / 1000),
  }
  if (result.survivors.length > 0) {
    console.log(`\n${name}: ${result.survivors.length} undetected`)
    for (const line of result.survivors) console.log(`  ${line}`)
  }
}

console.log('\nmodule        score   killed timeout survived no-cov ignored errors seconds')
for (const [name, m] of Object.entries(modules))
  console.log(
    `${name.padEnd(12)} ${m.score.toFixed(2).padStart(6)} % ${String(m.killed).padStart(7)} ${String(m.timeout).padStart(7)} ${String(m.survived).padStart(8)} ${String(m.noCoverage).padStart(6)} ${String(m.ignored).padStart(7)} ${String(m.errors).padStart(6)} ${String(m.seconds ?? '-').padStart(7)}`,
  )
console.log(
  JSON.stringify({
    bench: 'mutation',
    score: 'detected/(detected+survived+no-coverage)',
    modules,
    seconds: Math.round((Date.now() - started) / 1000),
  }),
)
process.exit(failed ? 1 : 0)
