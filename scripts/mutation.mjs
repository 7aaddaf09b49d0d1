// `npm run test:mutation [-- --module NAME[,NAME...]] [-- --force] [-- --report-only]`: StrykerJS mutation
// testing of the security-critical modules (issue 31). One Stryker run per part of
// scripts/mutation/modules.mjs (a small module is one part; events and rules have several), each
// incremental (.cache/stryker/<part>/incremental.json: only mutants whose code or covering tests
// changed run again). NAME is a module (`rules`), one part (`rules/expired-token-accepted`) or a
// group of parts measured in one run (`rules/event-rules`, `rules/lib-and-scheduled`: a module runs
// its grouped parts that way, and each part's figures are read from the group's report).
// Prints each module's mutation score and ends with one JSON line. The score is Stryker's
// standard mutation score:
//   (killed + timeout) / (killed + timeout + survived + no coverage)
// Ignored mutants (prose and examples of rules, equivalent ones disabled with a reason),
// equivalent survivors listed in scripts/mutation/equivalents.mjs (each with its reason) and
// compile or runtime errors count in neither part. --report-only re-reads the last reports;
// --force tests every mutant again (Stryker's incremental mode may reuse the result of a mutant
// that runs at module load, a static one, after the tests that would kill it were added).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { EQUIVALENTS } from './mutation/equivalents.mjs'
import { GROUPS, MODULES, moduleOf, PARTS, RUNS } from './mutation/modules.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const args = process.argv.slice(2)
const at = args.indexOf('--module')
const names = at >= 0 ? (args[at + 1] ?? '').split(',').filter(Boolean) : Object.keys(MODULES)
const unknown = names.filter((name) => !MODULES[name] && !RUNS[name])
if (unknown.length > 0 || names.length === 0) {
  console.error(
    `unknown module ${unknown.join(', ')}; modules: ${Object.keys(MODULES).join(', ')}; parts: ${Object.keys(RUNS).join(', ')}`,
  )
  process.exit(2)
}
/** A module runs its parts, a group of parts as one run (GROUPS); a part or a group runs alone. */
const grouped = new Map(
  Object.entries(GROUPS).flatMap(([run, g]) => g.parts.map((part) => [part, run])),
)
const reportOnly = args.includes('--report-only')
// --report-only reads each part from the newer of its own report and its group's.
const runs = [
  ...new Set(
    names.flatMap((name) =>
      MODULES[name]
        ? MODULES[name].map((part) => (reportOnly ? part : (grouped.get(part) ?? part)))
        : [name],
    ),
  ),
]
/** The newest report that measured `run` (--report-only: a part's own or its group's). */
function reportFile(run) {
  const files = [run, ...(reportOnly && grouped.has(run) ? [grouped.get(run)] : [])]
    .map((r) => `.cache/stryker/${r}/mutation.json`)
    .filter((f) => existsSync(f))
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
}

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
  equivalent: 0,
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
  for (const [file, { mutants, source }] of Object.entries(report.files)) {
    if (!mutatedBy(part, file)) continue
    const lines = source.split('\n')
    for (const m of mutants) {
      const undetectedStatus = m.status === 'Survived' || m.status === 'NoCoverage'
      const equivalent = undetectedStatus ? equivalentOf(file, m, lines) : undefined
      if (equivalent !== undefined) {
        counts.equivalent++
        equivalent.used = true
        continue
      }
      counts[STATUS[m.status] ?? 'errors']++
      if (undetectedStatus)
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

/** The source text a mutant replaces (Stryker's locations: lines 1-based, columns 1-based). */
function originalOf(m, lines) {
  const { start, end } = m.location
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1)
  return [
    lines[start.line - 1].slice(start.column - 1),
    ...lines.slice(start.line, end.line - 1),
    lines[end.line - 1].slice(0, end.column - 1),
  ].join('\n')
}

/** The EQUIVALENTS entry a survived mutant matches, if any. */
function equivalentOf(file, m, lines) {
  const candidates = EQUIVALENTS.filter((e) => e.file === file && e.mutator === m.mutatorName)
  if (candidates.length === 0) return undefined
  const original = originalOf(m, lines)
  return candidates.find(
    (e) =>
      e.original === original &&
      e.replacement === m.replacement &&
      (e.line === undefined || e.line === m.location.start.line),
  )
}

const started = Date.now()
const results = {}
/** Seconds of each run, added to the module of its parts. */
const runSeconds = {}
let failed = false
for (const run of runs) {
  const t0 = Date.now()
  if (!reportOnly) {
    console.log(`\n== mutation: ${run} (${RUNS[run].mutate.join(' ')})`)
    const extra = args.includes('--force') ? ['--force'] : []
    const spawned = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...extra], {
      stdio: 'inherit',
      env: { ...process.env, AUDTRAIL_MUTATION_PART: run },
    })
    if (spawned.status !== 0) {
      console.error(`mutation: stryker failed on ${run} (exit ${spawned.status})`)
      failed = true
      continue
    }
  }
  const file = reportFile(run)
  if (file === undefined) {
    console.error(`mutation: no report for ${run} (.cache/stryker/${run}/mutation.json)`)
    failed = true
    continue
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  if (!reportOnly) runSeconds[run] = Math.round((Date.now() - t0) / 1000)
  for (const part of RUNS[run].parts) {
    const { counts, undetected } = read(report, part)
    results[part] = { counts, run, part }
    if (undetected.length > 0) {
      console.log(`\n${part}: ${undetected.length} undetected`)
      for (const line of undetected) console.log(`  ${line}`)
    }
  }
}

const staleEquivalents = EQUIVALENTS.filter(
  (e) => !e.used && Object.values(results).some((r) => mutatedBy(r.part, e.file)),
)
for (const e of staleEquivalents)
  console.log(
    `equivalents.mjs: no survived mutant matches ${e.file} ${e.mutator} ${JSON.stringify(e.original)}`,
  )

// Per module: its parts' counts added up (a module is complete when all its parts ran), and the
// seconds of the runs that measured them.
const modules = {}
for (const [part, { counts }] of Object.entries(results)) {
  const name = moduleOf(part)
  const m = (modules[name] ??= { ...emptyCounts(), seconds: undefined, parts: 0, runs: new Set() })
  for (const key of Object.keys(counts)) m[key] += counts[key]
  m.parts++
  m.runs.add(results[part].run)
}
for (const m of Object.values(modules)) {
  const times = [...m.runs].map((run) => runSeconds[run])
  m.seconds = times.some((t) => t === undefined) ? undefined : times.reduce((a, b) => a + b, 0)
}
const pad = (v, n) => String(v).padStart(n)
console.log(
  '\nmodule/part                            score   killed timeout survived no-cov ignored equiv errors seconds',
)
const row = (name, c, seconds) =>
  console.log(
    `${name.padEnd(36)} ${scoreOf(c).toFixed(2).padStart(6)} % ${pad(c.killed, 7)} ${pad(c.timeout, 7)} ${pad(c.survived, 8)} ${pad(c.noCoverage, 6)} ${pad(c.ignored, 7)} ${pad(c.equivalent, 5)} ${pad(c.errors, 6)} ${pad(seconds ?? '-', 7)}`,
  )
for (const [name, m] of Object.entries(modules)) {
  row(
    `${name}${MODULES[name].length > 1 ? ` (${m.parts}/${MODULES[name].length} parts)` : ''}`,
    m,
    m.seconds,
  )
  if (MODULES[name].length > 1)
    for (const part of MODULES[name]) {
      const r = results[part]
      // A part measured alone has its run's seconds; one of a group, the group's (shown once).
      if (r) row(`  ${part}`, r.counts, r.run === part ? runSeconds[part] : undefined)
    }
  for (const run of m.runs)
    if (RUNS[run].parts.length > 1)
      console.log(
        `  (${run}: ${RUNS[run].parts.length} parts in one run, ${runSeconds[run] ?? '-'} s)`,
      )
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
          equivalent: m.equivalent,
          errors: m.errors,
          seconds: m.seconds,
        },
      ]),
    ),
    seconds: Math.round((Date.now() - started) / 1000),
  }),
)
process.exit(failed ? 1 : 0)
