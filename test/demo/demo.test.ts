import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SPIKE_CALLS } from '../../src/demo/agent.js'
import { listFindings, machineToken, type Finding } from '../../src/demo/api-client.js'
import { runDemo } from '../../src/demo/run.js'
import {
  API,
  CONSOLE,
  EXPECTED_RULES,
  MACHINE,
  MCP_A,
  MCP_A_DRIFTED,
  MCP_B,
} from '../../src/demo/scenario.js'
import { freePort } from '../../src/demo/serve-process.js'

// serve runs from the compiled CLI (npm test builds first), the demo itself from source.
const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))

const one = (findings: Finding[], rule: string) => {
  const found = findings.filter((f) => f.rule_id === rule)
  expect(found, rule).not.toEqual([])
  return found[0]!
}

/** A browser's cookies, per origin (name=value; attributes are not needed here). */
class Jar {
  private readonly cookies = new Map<string, Map<string, string>>()
  header(url: string): string {
    const jar = this.cookies.get(new URL(url).origin) ?? new Map<string, string>()
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  }
  keep(url: string, res: Response): void {
    const origin = new URL(url).origin
    const jar = this.cookies.get(origin) ?? new Map<string, string>()
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = pair!.indexOf('=')
      jar.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim())
    }
    this.cookies.set(origin, jar)
  }
}

/** One request as a browser makes it (cookies in and out, redirects not followed). */
async function visit(jar: Jar, url: string, form?: Record<string, string>) {
  const res = await fetch(url, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: {
      cookie: jar.header(url),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form) : undefined,
  })
  jar.keep(url, res)
  const location = res.headers.get('location')
  return { res, next: location === null ? undefined : new URL(location, url).href }
}

/** Follows redirects until an answer that is not one (or `stop` matches the next URL). */
async function follow(jar: Jar, url: string, stop?: (url: string) => boolean) {
  let at = url
  for (let hops = 0; hops < 10; hops++) {
    const { res, next } = await visit(jar, at)
    if (next === undefined || stop?.(next)) return { res, url: at, next }
    at = next
  }
  throw new Error(`too many redirects from ${url}`)
}

describe('audtrail demo', () => {
  it('runs the peers and the agent against serve, and every attack shows up as its findings', async () => {
    const startHour = Math.floor(Date.now() / 3_600_000) * 3_600_000
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const lines: string[] = []
    let release!: () => void
    const stop = new Promise<void>((resolve) => (release = resolve))
    let serving!: () => void
    const ready = new Promise<void>((resolve) => (serving = resolve))
    const done = runDemo({
      once: false,
      port,
      command: [process.execPath, BIN],
      env: { PATH: process.env.PATH },
      stop,
      print: (line) => {
        lines.push(line)
        if (line.startsWith('serving until Ctrl-C')) serving()
      },
    })
    const early = await Promise.race([ready.then(() => undefined), done])
    expect(early, lines.join('\n')).toBeUndefined()
    const output = lines.join('\n')

    // The API needs a token from the demo's AS (client credentials), as the demo's own reads do.
    const issuer = /^ {2}authorization server +(http:\/\/\S+)/m.exec(lines.join('\n'))?.[1]
    expect(issuer, lines.join('\n')).toBeDefined()
    expect((await fetch(`${url}/v1/findings`)).status).toBe(401)
    const token = await machineToken(issuer!, { ...MACHINE, audience: url })
    const bearer = { headers: { authorization: `Bearer ${token}` } }

    // Read back independently of what the demo printed: the API of the serve it started.
    const findings = await listFindings(url, new Date(0), token)
    const rules = new Set(findings.map((f) => f.rule_id))
    expect(EXPECTED_RULES.filter((r) => !rules.has(r))).toEqual([])

    expect(one(findings, 'cross-audience-replay')).toMatchObject({
      severity: 'critical',
      keys: { resource: MCP_B, client_id: 'demo-agent' },
    })
    expect(one(findings, 'aud-mismatch-rejected').keys.resource).toBe(MCP_A)
    expect(one(findings, 'multi-audience-token').keys.audience).toBe(`${API} ${MCP_A}`)
    expect(one(findings, 'resource-uri-drift').keys.drift_key).toBe(MCP_A)
    const drift = (await (
      await fetch(`${url}/v1/findings/${one(findings, 'resource-uri-drift').id}`, bearer)
    ).json()) as {
      evidence: { variants: { raw: string }[] }
    }
    expect(drift.evidence.variants.map((v) => v.raw).sort()).toEqual([MCP_A, MCP_A_DRIFTED])
    const spike = (await (
      await fetch(`${url}/v1/findings/${one(findings, 'token-usage-spike').id}`, bearer)
    ).json()) as {
      evidence: { requests: number; baseline_median: number; interval_start: string }
    }
    // The burst, not the agent's ordinary traffic, is what crossed the threshold: the interval is
    // the live one (not a backdated hour of history), and it holds more requests than a usual hour.
    // Not all SPIKE_CALLS of them: the rule reports an interval with the count of the scheduler
    // run that carried it over the threshold, and a burst of HTTP calls can span two runs.
    expect(Date.parse(spike.evidence.interval_start)).toBeGreaterThanOrEqual(startHour)
    expect(spike.evidence.requests).toBeGreaterThan(spike.evidence.baseline_median)
    expect(spike.evidence.requests).toBeLessThanOrEqual(SPIKE_CALLS + 50)
    expect(spike.evidence.baseline_median).toBeLessThan(50)
    expect(one(findings, 'expired-token-accepted').keys.resource).toBe(MCP_B)
    expect(one(findings, 'mcp-tool-header-mismatch').keys.resource).toBe(MCP_A)

    const res = await fetch(`${url}/v1/reports/compliance?framework=mcp-authorization`, bearer)
    const report = (await res.json()) as {
      frameworks: { controls: { id: string; status: string }[] }[]
    }
    expect(res.status, JSON.stringify(report)).toBe(200)
    expect(
      report.frameworks[0]!.controls.find((c) => c.id === 'mcp-authz/token-audience-binding'),
    ).toMatchObject({ status: 'fail' })

    expect((await fetch(`${url}/docs`)).status).toBeLessThan(400)

    // The console: unauthenticated, it sends the browser to the demo's AS (code + PKCE) ...
    const jar = new Jar()
    const toAs = await follow(jar, `${url}/?severity=critical`, (next) => next.startsWith(issuer!))
    expect(toAs.url).toBe(`${url}/auth/login?next=${encodeURIComponent('/?severity=critical')}`)
    const authorize = new URL(toAs.next!)
    expect(authorize.searchParams.get('client_id')).toBe(CONSOLE.clientId)
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${url}/auth/callback`)
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.get('resource')).toBe(url)
    // ... whose login page takes the demo's user (printed with the console's URL) ...
    const login = await follow(jar, authorize.href)
    expect(login.res.status).toBe(200)
    expect(await login.res.text()).toContain('name="password"')
    expect(output).toContain(`as ${CONSOLE.username} / password ${CONSOLE.password}`)
    const wrong = await visit(jar, login.url, { username: CONSOLE.username, password: 'guess' })
    expect(wrong.res.status).toBe(401)
    const right = await visit(jar, login.url, {
      username: CONSOLE.username,
      password: CONSOLE.password,
    })
    expect(right.next).toBeDefined()
    // ... and back at the console's callback, signed in (a page that moves on to where the
    // analyst was going, so the SameSite=Strict session cookie goes along): the queue of tenant
    // default.
    const callback = await follow(jar, right.next!)
    expect(callback.url.startsWith(`${url}/auth/callback?`)).toBe(true)
    expect(callback.res.status).toBe(200)
    expect(await callback.res.text()).toContain('content="0;url=/?severity=critical"')
    const back = await visit(jar, `${url}/?severity=critical`)
    expect(back.res.status).toBe(200)
    const queue = await back.res.text()
    expect(queue).toContain('<h1>Findings</h1>')
    expect(queue).toContain(`${CONSOLE.username} · tenant <strong>default</strong>`)
    expect(queue).toContain('cross-audience-replay')
    expect(output).toContain(
      `expected findings (${EXPECTED_RULES.length}/${EXPECTED_RULES.length})`,
    )
    expect(output).not.toContain('✗')
    expect(output).toMatch(/^ {2}mcp-authorization +\d+ pass +[1-9]\d* fail/m)
    for (const rule of EXPECTED_RULES) expect(output).toMatch(new RegExp(`^  ${rule} `, 'm'))

    release()
    expect(await done).toBe(0)
    // Stopped: serve is gone with its port.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()
  }, 150_000)
})
