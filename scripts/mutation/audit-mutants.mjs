// `node scripts/mutation/audit-mutants.mjs [--no-control] [NAME...]`: the outside audit's
// one-line bugs of issue 31, re-made by hand, each against the test file that must catch it.
// Works in a copy of the worktree (.cache/audit-mutants/, git-ignored; src/ itself is never
// touched): applies one mutant, runs its test file with vitest.mutation.config.ts (the fast
// config of the mutation runs), restores the file, and says `killed` (the test file failed) or
// `SURVIVED`. First each test file runs once unmutated (the control: it must pass). Exits 1 when
// a mutant survives, a control fails or a mutant no longer applies (its text is gone from the
// source: the entry needs updating). Ends with one JSON line.
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** name, file, the exact text and its bug, the test file that must fail on it. */
export const AUDIT_MUTANTS = [
  {
    name: 'auth: a token without audtrail_tenant accepted',
    file: 'src/api/auth.ts',
    from: "if (typeof tenant !== 'string' || !TENANT.test(tenant))",
    to: "if (tenant !== undefined && (typeof tenant !== 'string' || !TENANT.test(tenant)))",
    test: 'test/api/auth-claims.test.ts',
  },
  {
    name: 'auth: a token without exp accepted',
    file: 'src/api/auth.ts',
    from: "requiredClaims: ['exp', 'sub'],",
    to: "requiredClaims: ['sub'],",
    test: 'test/api/auth-claims.test.ts',
  },
  {
    name: 'cross-audience-replay: rejected then accepted at one outside resource stays high',
    file: 'src/detection/rules/cross-audience-replay.ts',
    from: 'accepted: accepted || before?.accepted === true,',
    to: 'accepted: before?.accepted ?? accepted,',
    test: 'test/detection/survivors.test.ts',
  },
  {
    name: 'expired-token-accepted: fires exactly at the leeway',
    file: 'src/detection/rules/expired-token-accepted.ts',
    from: 'if (pastS <= ctx.params.clockSkewS) return []',
    to: 'if (pastS < ctx.params.clockSkewS) return []',
    test: 'test/detection/survivors.test.ts',
  },
  {
    name: 'multi-audience-token: some instead of every',
    file: 'src/detection/rules/multi-audience-token.ts',
    from: 'const allowed = resources.every(',
    to: 'const allowed = resources.some(',
    test: 'test/detection/survivors.test.ts',
  },
  {
    name: 'token-usage-spike: threshold default 3.5 made 0.35',
    file: 'src/detection/rules/token-usage-spike.ts',
    from: '.default(3.5)',
    to: '.default(0.35)',
    // survivors.test.ts's small rise no longer isolates the threshold (the rule's minimum ratio
    // silences it too): spike-threshold.test.ts does.
    test: 'test/detection/spike-threshold.test.ts',
  },
  {
    name: 'missing-resource-indicator: token.exchanged not judged',
    file: 'src/detection/rules/missing-resource-indicator.ts',
    from: "const request = row.event_type === 'authorization.requested' || isIssuance(row)",
    to: "const request = row.event_type === 'authorization.requested' || row.event_type === 'token.issued'",
    test: 'test/detection/survivors.test.ts',
  },
  {
    name: 'aud-mismatch-accepted: the stored match instead of the current registry',
    file: 'src/detection/rules/aud-mismatch-accepted.ts',
    from: "if (audienceMatch(row, ctx.registry) !== 'different') return []",
    to: "if (row.aud_match !== 'different') return []",
    test: 'test/detection/survivors.test.ts',
  },
  {
    name: 'exceptions: an expired exception matches until the cache refreshes',
    file: 'src/detection/exceptions.ts',
    from: 'if (e.tenant !== tenant || e.expires <= now) return false',
    to: 'if (e.tenant !== tenant) return false',
    test: 'test/detection/exceptions-expiry.test.ts',
  },
  {
    name: 'sink: an event repeated within one write stored twice',
    file: 'src/pipeline/sink.ts',
    from: '    if (seen.has(k)) continue\n',
    to: '',
    test: 'test/pipeline/sink-repeat.test.ts',
  },
  {
    name: 'contract: token.exchanged with an empty subject_token accepted',
    file: 'src/events/parse.ts',
    from: "    event.event_type === 'token.exchanged' &&\n    event.subject_token.jti === undefined &&",
    to: "    event.event_type === 'token.exchanged' &&\n    false &&\n    event.subject_token.jti === undefined &&",
    test: 'test/events/contract-survivors.test.ts',
  },
  {
    name: 'contract: control characters allowed in requested_resources (authorization.requested)',
    file: 'src/events/schema.ts',
    from: 'requested_resources: list(z.string().max(LIMITS.uri).regex(NO_CONTROL)),',
    to: 'requested_resources: list(z.string().max(LIMITS.uri)),',
    test: 'test/events/mutation-contract-control.test.ts',
  },
  {
    name: 'reports: one expired token accepted tolerated (threshold 1)',
    file: 'src/reports/metrics.ts',
    from: "expired_tokens_accepted: { op: 'max', value: 0 },",
    to: "expired_tokens_accepted: { op: 'max', value: 1 },",
    test: 'test/reports/survivors.test.ts',
  },
  {
    name: "reports: a control's rules matched without the edition suffix (NHI4:2025)",
    file: 'src/reports/frameworks.ts',
    from: '.includes(mappingId(c.id))',
    to: '.includes(c.id)',
    test: 'test/reports/survivors.test.ts',
  },
  {
    name: 'raw-token: %2E (upper case) not read as a dot',
    file: 'src/events/raw-token/find.ts',
    from: '(s.charCodeAt(i + 2) | 0x20) === 101',
    to: 's.charCodeAt(i + 2) === 101',
    test: 'test/events/raw-token.test.ts',
  },
  {
    name: 'raw-token: %2E counted as a one-character dot',
    file: 'src/events/raw-token/find.ts',
    from: '=== 101) return 3',
    to: '=== 101) return 1',
    test: 'test/events/raw-token.test.ts',
  },
]

/** Copies the worktree's files (tracked and new, not ignored) into `dir`, node_modules linked. */
export function sandbox(dir) {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .stdout.split('\0')
    .filter((f) => f && f !== 'node_modules' && existsSync(join(root, f)))
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true })
    cpSync(join(root, f), join(dir, f))
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
}

/** Runs one test file in the sandbox; true when it passes. */
export function passes(dir, test) {
  const run = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.mutation.config.ts'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, AUDTRAIL_MUTATION_TESTS: test },
  })
  return run.status === 0
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const control = !args.includes('--no-control')
  const wanted = args.filter((a) => !a.startsWith('--'))
  const mutants = AUDIT_MUTANTS.filter(
    (m) => wanted.length === 0 || wanted.some((w) => m.name.includes(w)),
  )
  const dir = join(root, '.cache/audit-mutants')
  sandbox(dir)
  const started = Date.now()
  let failed = false
  if (control)
    for (const test of [...new Set(mutants.map((m) => m.test))]) {
      const ok = passes(dir, test)
      console.log(`${ok ? 'control passes' : 'CONTROL FAILS'}  ${test}`)
      if (!ok) failed = true
    }
  const results = []
  for (const m of mutants) {
    const path = join(dir, m.file)
    const original = readFileSync(path, 'utf8')
    if (!original.includes(m.from)) {
      console.log(`GONE      ${m.name} (${m.file}: the text is no longer there)`)
      results.push({ name: m.name, status: 'gone' })
      failed = true
      continue
    }
    writeFileSync(path, original.replace(m.from, m.to))
    const killed = !passes(dir, m.test)
    writeFileSync(path, original)
    console.log(`${killed ? 'killed  ' : 'SURVIVED'}  ${m.name}  (${m.test})`)
    results.push({ name: m.name, status: killed ? 'killed' : 'survived' })
    if (!killed) failed = true
  }
  console.log(
    JSON.stringify({
      bench: 'audit-mutants',
      killed: results.filter((r) => r.status === 'killed').length,
      of: results.length,
      survived: results.filter((r) => r.status !== 'killed').map((r) => r.name),
      seconds: Math.round((Date.now() - started) / 1000),
    }),
  )
  process.exit(failed ? 1 : 0)
}
