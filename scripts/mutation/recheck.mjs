// `node scripts/mutation/recheck.mjs RUN TEST[,TEST...] [FILTER]`: re-tests by hand the mutants a
// Stryker run left undetected (survived or no coverage), against the given test files, after tests
// were added; quicker than a Stryker re-run when static mutants make that one long. RUN is a part
// or group of scripts/mutation/modules.mjs (its last report, .cache/stryker/RUN/mutation.json);
// FILTER keeps the mutants whose file contains it. In a copy of the worktree
// (.cache/audit-mutants/, src/ itself untouched): each mutant's replacement is put in place, the
// test files run with vitest.mutation.config.ts, the file restored. Prints `killed` or `SURVIVED`
// per mutant and one JSON line; the Stryker report itself is not changed (a Stryker run gives the
// score).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { passes, sandbox } from './audit-mutants.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const [run, tests, filter = ''] = process.argv.slice(2)
if (!run || !tests) {
  console.error('usage: node scripts/mutation/recheck.mjs RUN TEST[,TEST...] [FILTER]')
  process.exit(2)
}
const report = JSON.parse(readFileSync(join(root, `.cache/stryker/${run}/mutation.json`), 'utf8'))
const dir = join(root, '.cache/audit-mutants')
sandbox(dir)
const started = Date.now()
const results = []
for (const [file, { mutants }] of Object.entries(report.files)) {
  if (!file.includes(filter)) continue
  const path = join(dir, file)
  const original = readFileSync(path, 'utf8')
  // Stryker's locations: lines 1-based, columns 1-based.
  const lineStarts = [0]
  for (let i = 0; i < original.length; i++) if (original[i] === '\n') lineStarts.push(i + 1)
  const offset = (p) => lineStarts[p.line - 1] + p.column - 1
  for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
    const where = `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}`
    const mutated =
      original.slice(0, offset(m.location.start)) +
      m.replacement +
      original.slice(offset(m.location.end))
    writeFileSync(path, mutated)
    const killed = !passes(dir, tests)
    writeFileSync(path, original)
    console.log(
      `${killed ? 'killed  ' : 'SURVIVED'}  ${where} -> ${JSON.stringify(m.replacement).slice(0, 60)}`,
    )
    results.push({ where, killed })
  }
}
console.log(
  JSON.stringify({
    bench: 'mutation-recheck',
    run,
    tests,
    killed: results.filter((r) => r.killed).length,
    of: results.length,
    seconds: Math.round((Date.now() - started) / 1000),
  }),
)
