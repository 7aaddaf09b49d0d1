import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SPIKE_CALLS } from '../../src/demo/agent.js'
import { listFindings, type Finding } from '../../src/demo/api-client.js'
import { runDemo } from '../../src/demo/run.js'
import { API, EXPECTED_RULES, MCP_A, MCP_A_DRIFTED, MCP_B } from '../../src/demo/scenario.js'
import { freePort } from '../../src/demo/serve-process.js'

// serve runs from the compiled CLI (npm test builds first), the demo itself from source.
const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))

const one = (findings: Finding[], rule: string) => {
  const found = findings.filter((f) => f.rule_id === rule)
  expect(found, rule).not.toEqual([])
  return found[0]!
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

    // Read back independently of what the demo printed: the API of the serve it started.
    const findings = await listFindings(url, new Date(0))
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
      await fetch(`${url}/v1/findings/${one(findings, 'resource-uri-drift').id}`)
    ).json()) as {
      evidence: { variants: { raw: string }[] }
    }
    expect(drift.evidence.variants.map((v) => v.raw).sort()).toEqual([MCP_A, MCP_A_DRIFTED])
    const spike = (await (
      await fetch(`${url}/v1/findings/${one(findings, 'token-usage-spike').id}`)
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

    const res = await fetch(`${url}/v1/reports/compliance?framework=mcp-authorization`)
    const report = (await res.json()) as {
      frameworks: { controls: { id: string; status: string }[] }[]
    }
    expect(res.status, JSON.stringify(report)).toBe(200)
    expect(
      report.frameworks[0]!.controls.find((c) => c.id === 'mcp-authz/token-audience-binding'),
    ).toMatchObject({ status: 'fail' })

    expect((await fetch(`${url}/docs`)).status).toBeLessThan(400)
    const output = lines.join('\n')
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
