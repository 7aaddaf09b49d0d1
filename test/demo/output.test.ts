import { describe, expect, it } from 'vitest'
import type { Finding } from '../../src/demo/api-client.js'
import { printCompliance, printExpected, printFindings } from '../../src/demo/output.js'
import { ATTACKS, EXPECTED_RULES } from '../../src/demo/scenario.js'

const finding = (rule_id: string, severity = 'medium'): Finding => ({
  id: rule_id,
  rule_id,
  severity,
  title: rule_id,
  count: 1,
  first_seen: '2026-11-22T10:00:00.000Z',
  last_seen: '2026-11-22T10:00:00.000Z',
  keys: { client_id: 'demo-agent' },
})

function printed(fn: (print: (line: string) => void) => unknown): string[] {
  const lines: string[] = []
  fn((line) => lines.push(line))
  return lines
}

describe('the demo output', () => {
  it('maps every attack to at least one rule of the catalog, each rule expected once', () => {
    expect(ATTACKS.every((a) => a.expect.length > 0)).toBe(true)
    expect(EXPECTED_RULES.length).toBe(ATTACKS.flatMap((a) => a.expect).length)
  })

  it('marks a missing expected finding with ✗ and counts it, which makes the exit status 1', () => {
    const present = EXPECTED_RULES.filter((r) => r !== 'token-usage-spike').map((r) => finding(r))
    let missing = -1
    const lines = printed((print) => (missing = printExpected(print, ATTACKS, present)))
    expect(missing).toBe(1)
    expect(lines[0]).toBe(
      `expected findings (${EXPECTED_RULES.length - 1}/${EXPECTED_RULES.length}):`,
    )
    expect(lines.find((l) => l.trimStart().startsWith('spike'))).toContain('✗ token-usage-spike')
    expect(lines.filter((l) => l.includes('✗'))).toHaveLength(1)
  })

  it('counts nothing missing when every expected rule has a finding', () => {
    const all = EXPECTED_RULES.map((r) => finding(r))
    expect(printed((print) => expect(printExpected(print, ATTACKS, all)).toBe(0))).not.toContain(
      '✗',
    )
  })

  it('lists findings most severe first, with their keys', () => {
    const lines = printed((print) =>
      printFindings(print, [finding('b-rule', 'low'), finding('a-rule', 'critical')]),
    )
    expect(lines[0]).toBe('findings (2):')
    expect(lines[2]).toMatch(/^ {2}a-rule +critical +1 {2}client_id=demo-agent$/)
    expect(lines[3]).toMatch(/^ {2}b-rule +low /)
  })

  it('says so when the compliance report is not available', () => {
    expect(printed((print) => printCompliance(print, undefined))).toEqual([
      'compliance report: not available',
    ])
    const lines = printed((print) =>
      printCompliance(print, {
        frameworks: [
          { id: 'mcp-authorization', title: 'MCP Authorization', pass: 3, fail: 1, noEvidence: 2 },
        ],
        failing: [{ id: 'MCP-AUTH-1', title: 'Audience validation' }],
        metrics: [
          { title: 'Audience validation coverage', unit: 'ratio', value: 0.625, status: 'fail' },
          { title: 'Token lifetime p95', unit: 'seconds', value: null, status: 'no_evidence' },
        ],
      }),
    )
    expect(lines[1]).toMatch(/^ {2}mcp-authorization {2} 3 pass {2} 1 fail {2} 2 without evidence/)
    expect(lines).toContain('    MCP-AUTH-1  Audience validation')
    expect(lines.find((l) => l.includes('coverage'))).toMatch(/62\.5 % {2}fail$/)
    expect(lines.find((l) => l.includes('p95'))).toMatch(/no evidence {2}no_evidence$/)
  })
})
