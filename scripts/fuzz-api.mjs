// `npm run fuzz:api [-- --max-examples N] [--seed N] [--min-requests N]`: schemathesis (from PyPI,
// pinned, in a project-local venv) against `audtrail serve` on loopback with JWT auth, a fresh
// embedded data dir and seeded events and findings. Checks: no 5xx, status codes, content types
// and bodies as the OpenAPI document at /docs declares them. Exits non-zero on any failure.
/* global fetch */
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { register } from 'tsx/esm/api'

const SCHEMATHESIS = '4.32.5'
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const VENV = join(ROOT, '.cache', 'schemathesis-venv')
const TARGET = join(ROOT, '.cache', 'schemathesis-target')
const ISSUER = 'https://idp.fuzz.invalid'
const AUDIENCE = 'https://audtrail.fuzz.invalid/api'
const TENANT = 'fuzz'
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
]

const { values: opts } = parseArgs({
  options: {
    'max-examples': { type: 'string', default: '100' },
    'min-requests': { type: 'string' },
    seed: { type: 'string' },
    // One worker: hypothesis' lambda descriptions are not thread-safe (AST recursion errors).
    workers: { type: 'string', default: '1' },
    quiet: { type: 'boolean', default: false },
    phases: { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
})
const maxExamples = positive('max-examples', opts['max-examples'])
const minRequests = opts['min-requests']
  ? Number(opts['min-requests'])
  : maxExamples >= 100
    ? 1000
    : 0
const log = (line) => process.stdout.write(`fuzz:api: ${line}\n`)

function positive(name, value) {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) {
    console.error(`fuzz:api: --${name} must be a positive integer`)
    process.exit(2)
  }
  return n
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

/** How to start schemathesis: a venv when python3 can make one, else `pip install --target`. */
function installSchemathesis() {
  const venvBin = join(VENV, 'bin', 'schemathesis')
  const venvMarker = join(VENV, `.installed-${SCHEMATHESIS}`)
  const targetMarker = join(TARGET, `.installed-${SCHEMATHESIS}`)
  if (existsSync(venvMarker) && !process.env.FUZZ_API_NO_VENV) return { cmd: venvBin, env: {} }
  const targetRun = {
    cmd: 'python3',
    prefix: [
      '-c',
      'import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())',
    ],
    env: { PYTHONPATH: TARGET },
  }
  if (existsSync(targetMarker)) return targetRun
  const python = run('python3', ['--version'])
  if (!python.ok) throw new Error('python3 is required (3.9+) to run schemathesis')
  return withLock(() => {
    if (existsSync(venvMarker) && !process.env.FUZZ_API_NO_VENV) return { cmd: venvBin, env: {} }
    log(`installing schemathesis ${SCHEMATHESIS} into ${VENV}`)
    // FUZZ_API_NO_VENV=1 takes the fallback path (to check it on a machine that has venv).
    let venv = process.env.FUZZ_API_NO_VENV
      ? { ok: false, out: 'FUZZ_API_NO_VENV is set' }
      : run('python3', ['-m', 'venv', '--clear', VENV])
    if (!venv.ok && /ensurepip|python3-venv/.test(venv.out)) {
      // Debian's python3 lacks ensurepip until python3-venv is installed.
      const apt = ['apt-get', 'install', '-y', '-q', 'python3-venv']
      const installed =
        process.getuid?.() === 0 ? run(apt[0], apt.slice(1)) : run('sudo', ['-n', ...apt])
      if (installed.ok) venv = run('python3', ['-m', 'venv', '--clear', VENV])
    }
    if (venv.ok) {
      const pip = run(join(VENV, 'bin', 'python'), [
        '-m',
        'pip',
        'install',
        '-q',
        '--disable-pip-version-check',
        `schemathesis==${SCHEMATHESIS}`,
      ])
      if (!pip.ok) throw new Error(`pip install schemathesis failed:\n${pip.out}`)
      writeFileSync(venvMarker, `${SCHEMATHESIS}\n`)
      return { cmd: venvBin, env: {} }
    }
    log(`no venv (${venv.out.trim().split('\n').pop()}); installing with pip --target ${TARGET}`)
    rmSync(TARGET, { recursive: true, force: true })
    const pip = run('python3', [
      '-m',
      'pip',
      'install',
      '-q',
      '--disable-pip-version-check',
      '--target',
      TARGET,
      `schemathesis==${SCHEMATHESIS}`,
    ])
    if (!pip.ok) throw new Error(`pip install --target failed:\n${pip.out}`)
    writeFileSync(targetMarker, `${SCHEMATHESIS}\n`)
    return targetRun
  })
}

/** One installer at a time (the test and a manual run may start together). */
function withLock(fn) {
  mkdirSync(join(ROOT, '.cache'), { recursive: true })
  const lock = join(ROOT, '.cache', 'schemathesis.lock')
  const deadline = Date.now() + 300_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held for 5 minutes: remove it`)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

async function keys(dir) {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'fuzz', alg: 'ES256', use: 'sig' }
  const file = join(dir, 'jwks.json')
  writeFileSync(file, JSON.stringify({ keys: [jwk] }))
  const token = (roles) =>
    new SignJWT({ audtrail_roles: roles, audtrail_tenant: TENANT })
      .setProtectedHeader({ alg: 'ES256', kid: 'fuzz' })
      .setSubject('fuzzer')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey)
  return { file, token }
}

/** `audtrail serve` from the sources; resolves with its URL once it listens. */
function startServer(env) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['serve'], process.env)",
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines = []
  const stderr = []
  let buffered = ''
  child.stderr.on('data', (d) => stderr.push(String(d)))
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      buffered += String(d)
      const parts = buffered.split('\n')
      buffered = parts.pop()
      for (const line of parts) {
        lines.push(line)
        const m = /listening on (http:\/\/[^\s]+)/.exec(line)
        if (m) resolve(m[1])
      }
    })
    child.on('exit', (code) =>
      reject(new Error(`audtrail serve exited (${code}):\n${stderr.join('')}`)),
    )
  })
  return { child, url, lines, stderr }
}

const DAY = 86_400_000

/** Realistic traffic (issuance, presentations with some audience mismatches, exchanges). */
function traffic(count) {
  const events = []
  const resources = Array.from({ length: 6 }, (_, i) => `https://mcp-${i}.fuzz.example/mcp`)
  for (let i = 0; i < count; i++) {
    const at = new Date(Date.now() - (i % 20) * DAY - i * 1000).toISOString()
    const resource = resources[i % resources.length]
    const aud = i % 11 === 0 ? resources[(i + 1) % resources.length] : resource
    const token = { jti: `tok-${i % 40}`, iat: 1_700_000_000, exp: 4_100_000_000, aud: [aud] }
    const base = {
      schema_version: 1,
      event_id: randomUUID(),
      occurred_at: at,
      tenant: TENANT,
      issuer: 'https://as.fuzz.example',
      client_id: `agent-${i % 7}`,
      subject: `user-${i % 13}`,
      network: { ip: `10.0.0.${i % 250}` },
    }
    if (i % 10 === 0)
      events.push({
        ...base,
        event_type: 'token.issued',
        source: { kind: 'authorization_server', id: 'as' },
        token: { ...token, format: 'jwt', scopes: ['read'] },
        grant_type: 'client_credentials',
        requested_resources: [aud],
        granted_aud: [aud],
        requested_scopes: ['read'],
        granted_scopes: ['read'],
      })
    else
      events.push({
        ...base,
        event_type: 'token.presented',
        source: { kind: 'mcp_server', id: `mcp-${i % resources.length}` },
        token: { ...token, format: 'jwt' },
        resource: resource.replace('/mcp', i % 9 === 0 ? '/mcp/' : '/mcp'),
        presented_aud: [aud],
        aud_validated: i % 5 !== 0,
        decision: i % 11 === 0 && i % 2 === 0 ? 'rejected' : 'accepted',
        reason: i % 11 === 0 && i % 2 === 0 ? 'aud_mismatch' : 'ok',
        tool: { method: 'tools/call', name: `tool_${i % 4}` },
        http: { method: 'POST', path: '/mcp', status: 200 },
      })
  }
  return events
}

/** The events of every rule example that fires, so that each rule leaves a finding. */
async function ruleExamples() {
  const unregister = register()
  try {
    const { RULES } = await import('../src/detection/rules/index.ts')
    return RULES.flatMap((rule) =>
      rule.examples
        .filter((e) => e.fires)
        .flatMap((e) => e.events.map((ev) => ({ ...ev, tenant: TENANT, event_id: randomUUID() }))),
    )
  } finally {
    await unregister()
  }
}

async function seed(url, token) {
  const events = [...traffic(400), ...(await ruleExamples())]
  const res = await fetch(`${url}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  })
  const body = await res.json()
  if (res.status !== 200) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(body)}`)
  const findings = await fetch(`${url}/v1/findings?limit=500`, {
    headers: { authorization: `Bearer ${token}` },
  }).then((r) => r.json())
  const reasons = [...new Set(body.results.flatMap((r) => r.reasons ?? []))]
  return {
    accepted: body.accepted,
    rejected: body.rejected,
    reasons,
    findings: findings.items.length,
  }
}

/** Requests the server completed, and those that ended in a 5xx (from its own request log). */
function serverCounts(lines) {
  let requests = 0
  const errors = []
  const urls = new Map()
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      continue
    }
    if (entry.msg === 'incoming request')
      urls.set(entry.reqId, `${entry.req?.method} ${entry.req?.url}`)
    if (entry.msg === 'request completed' && entry.res) {
      requests++
      if (entry.res.statusCode >= 500)
        errors.push(`${entry.res.statusCode} ${urls.get(entry.reqId) ?? entry.reqId}`)
    }
  }
  return { requests, errors }
}

async function main() {
  const schemathesis = installSchemathesis()
  const dir = mkdtempSync(join(tmpdir(), 'audtrail-fuzz-'))
  const { file, token } = await keys(dir)
  const env = { ...process.env }
  // This process's own configuration only: the embedded engine, no Kafka, no alert channels.
  for (const name of Object.keys(env))
    if (/^(AUDTRAIL_|CLICKHOUSE_|KAFKA_)/.test(name)) delete env[name]
  const server = startServer({
    ...env,
    AUDTRAIL_HOST: '127.0.0.1',
    AUDTRAIL_PORT: '0',
    AUDTRAIL_DATA_DIR: join(dir, 'data'),
    AUDTRAIL_LOG_LEVEL: 'info',
    AUDTRAIL_JWKS_FILE: file,
    AUDTRAIL_API_ISSUER: ISSUER,
    AUDTRAIL_API_AUDIENCE: AUDIENCE,
    AUDTRAIL_API_RATE_LIMIT: '100000',
    // The fuzzer is one tenant sending as fast as it can: the per-tenant limits would answer 429.
    AUDTRAIL_INGEST_EVENT_RATE: '0',
    AUDTRAIL_REPORT_DAY_RATE: '0',
    AUDTRAIL_TENANT_CONCURRENCY: '0',
    AUDTRAIL_AUTH_FAILURE_LIMIT: '0',
  })
  let code = 1
  try {
    const url = await server.url
    const bearer = await token(['viewer', 'analyst', 'admin', 'ingest'])
    const seeded = await seed(url, bearer)
    log(
      `serving ${url}; seeded ${seeded.accepted} events (${seeded.rejected} rejected), ${seeded.findings} findings`,
    )
    if (seeded.rejected > 0) log(`rejected seed events: ${seeded.reasons.join('; ')}`)
    if (opts.serve) {
      log(`--serve: Authorization: Bearer ${bearer}`)
      await new Promise((r) => process.once('SIGINT', r))
      return 0
    }
    const before = serverCounts(server.lines).requests
    const args = [
      ...(schemathesis.prefix ?? []),
      'run',
      `${url}/docs`,
      '--url',
      url,
      '--header',
      `Authorization: Bearer ${bearer}`,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      String(maxExamples),
      '--workers',
      opts.workers,
      '--request-timeout',
      '30',
      '--suppress-health-check',
      'too_slow,filter_too_much',
      ...(opts.seed ? ['--seed', opts.seed] : []),
      ...(opts.phases ? ['--phases', opts.phases] : []),
    ]
    const st = spawnSync(schemathesis.cmd, args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, ...schemathesis.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' },
      maxBuffer: 64 * 1024 * 1024,
    })
    const output = `${st.stdout ?? ''}${st.stderr ?? ''}`
    if (!opts.quiet || st.status !== 0) process.stdout.write(output)
    // Let the last request log lines arrive.
    await new Promise((r) => setTimeout(r, 300))
    const counts = serverCounts(server.lines)
    const requests = counts.requests - before
    const problems = []
    if (st.status !== 0) problems.push(`schemathesis exited with ${st.status}`)
    if (counts.errors.length > 0)
      problems.push(
        `${counts.errors.length} 5xx responses: ${counts.errors.slice(0, 10).join(', ')}`,
      )
    if (requests < minRequests) problems.push(`only ${requests} requests (at least ${minRequests})`)
    const summary = {
      fuzz: 'api',
      schemathesis: SCHEMATHESIS,
      max_examples: maxExamples,
      requests,
      server_errors: counts.errors.length,
      checks: CHECKS,
      ok: problems.length === 0,
    }
    for (const p of problems) log(`FAILED: ${p}`)
    log(
      `${requests} requests, ${counts.errors.length} 5xx, schemathesis ${st.status === 0 ? 'passed' : 'failed'}`,
    )
    console.log(JSON.stringify(summary))
    code = problems.length === 0 ? 0 : 1
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      const exited = new Promise((r) => server.child.once('exit', r))
      server.child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  return code
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`fuzz:api: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  },
)
