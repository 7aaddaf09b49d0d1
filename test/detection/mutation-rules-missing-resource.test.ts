/**
 * missing-resource-indicator: what its mutation run found untested. What counts as a resource
 * indicator (RFC 8707 §2: an absolute URI without a fragment), the reason and audience in the
 * evidence, and the parameter's default.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { exampleEvents, MCP, token } from '../../src/detection/rules/lib/example-events.js'
import {
  isResourceIndicator,
  missingResourceIndicator,
} from '../../src/detection/rules/missing-resource-indicator.js'

const ev = exampleEvents('mutation-missing-resource')
const run = (o: Record<string, unknown>) =>
  runEventExample(missingResourceIndicator, {
    name: 't',
    fires: true,
    events: [ev.issued({ requested_resources: [], ...o })],
  } as RuleExample)

describe('missing-resource-indicator', () => {
  it('accepts only a whole absolute URI without a fragment', () => {
    expect(isResourceIndicator('https://mcp.example.com/mcp')).toBe(true)
    expect(isResourceIndicator('urn:example:api')).toBe(true)
    expect(isResourceIndicator('1https://mcp.example.com/mcp')).toBe(false)
    expect(isResourceIndicator('https://mcp.example.com/mcp#tools')).toBe(false)
    expect(isResourceIndicator('https://mcp.example.com/a b')).toBe(false)
    expect(isResourceIndicator('/mcp')).toBe(false)
    expect(isResourceIndicator('')).toBe(false)
  })

  it('says why: absent, or present but not an absolute URI, with the raw values', () => {
    expect(run({}).map((d) => d.evidence.reason)).toEqual(['absent'])
    const bad = run({ requested_resources: [''] })
    expect(bad.map((d) => [d.evidence.reason, d.evidence.invalid_resources])).toEqual([
      ['not_absolute_uri', ['']],
    ])
  })

  it('reports the granted audience, else the token audience', () => {
    expect(run({ granted_aud: [MCP] })[0]!.evidence.granted_aud).toEqual([MCP])
    const fromToken = run({ granted_aud: [], token: token({ aud: ['https://other.example/'] }) })
    expect(fromToken[0]!.evidence.granted_aud).toEqual(['https://other.example/'])
  })

  it('ignores no grant type unless configured', () => {
    expect(missingResourceIndicator.params.parse({}).ignoreGrantTypes).toEqual([])
  })
})
