/**
 * Rules that judge one presentation on its own (aud-mismatch-rejected, unvalidated-audience,
 * mcp-tool-header-mismatch, dpop-htu-mismatch, bound-token-downgrade, proof-key-mismatch): the edges of their conditions and what their
 * findings say, beyond the examples' fires / stays silent (mutation runs,
 * docs/design/mutation.md). In memory, as the engine runs them.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { EventRule, RuleExample } from '../../src/detection/rule.js'
import { audMismatchRejected } from '../../src/detection/rules/aud-mismatch-rejected.js'
import { dpopHtuMismatch } from '../../src/detection/rules/dpop-htu-mismatch.js'
import { mcpToolHeaderMismatch } from '../../src/detection/rules/mcp-tool-header-mismatch.js'
import { unvalidatedAudience } from '../../src/detection/rules/unvalidated-audience.js'
import {
  API,
  exampleEvents,
  MCP,
  token,
  toolCall,
} from '../../src/detection/rules/lib/example-events.js'
import { boundTokenDowngrade } from '../../src/detection/rules/bound-token-downgrade.js'
import { proofKeyMismatch } from '../../src/detection/rules/proof-key-mismatch.js'
import {
  boundToken,
  CERT,
  JKT,
  OTHER_CERT,
  OTHER_JKT,
  validProof,
} from '../../src/detection/rules/lib/sender-constraint.js'

type Fields = Record<string, unknown>
const run = (rule: EventRule, events: Fields[], registry?: Fields[]) =>
  runEventExample(rule, { name: 't', fires: true, events, registry } as RuleExample)
const ev = exampleEvents('mutation-presentations')

describe('aud-mismatch-rejected', () => {
  const rejected = (reason: string, aud?: string[]) =>
    ev.presented({
      token: token({ aud }),
      presented_aud: aud ?? [],
      decision: 'rejected',
      reason,
      http: { method: 'POST', path: '/mcp', status: 401 },
    })

  it('without a visible aud, only a rejection for the audience counts', () => {
    expect(run(audMismatchRejected, [rejected('aud_mismatch')])).toHaveLength(1)
    expect(run(audMismatchRejected, [rejected('expired')])).toEqual([])
  })

  it('a visible aud for another resource counts whatever reason the server gave', () => {
    const [d] = run(audMismatchRejected, [rejected('expired', [API])])
    expect(d!.keys).toMatchObject({ resource: MCP, client_id: 'agent-7' })
    expect(d!.evidence).toMatchObject({
      decision: 'rejected',
      reason: 'expired',
      aud_match: 'different',
    })
  })

  it('an accepted presentation is not its business', () => {
    expect(
      run(audMismatchRejected, [
        ev.presented({ token: token({ aud: [API] }), presented_aud: [API] }),
      ]),
    ).toEqual([])
  })
})

describe('unvalidated-audience', () => {
  it('needs aud_validated: false', () => {
    expect(run(unvalidatedAudience, [ev.presented({ aud_validated: true })])).toEqual([])
    const [d] = run(unvalidatedAudience, [ev.presented({ aud_validated: false })])
    expect(d!.keys).toEqual({ resource: MCP })
    expect(d!.evidence).toMatchObject({ aud_validated: false, resource_canonical: MCP })
  })

  it('judges presentations only', () => {
    expect(run(unvalidatedAudience, [ev.issued()])).toEqual([])
  })
})

describe('mcp-tool-header-mismatch', () => {
  it('says which header disagrees, with the header and body values', () => {
    const [d] = run(mcpToolHeaderMismatch, [
      ev.presented({ tool: toolCall('delete_file', 'read_file') }),
    ])
    expect(d!.keys).toEqual({ resource: MCP, client_id: 'agent-7' })
    expect(d!.evidence).toMatchObject({
      mismatches: ['name'],
      header: { method: 'tools/call', name: 'read_file' },
      body: { method: 'tools/call', name: 'delete_file' },
    })
    const [both] = run(mcpToolHeaderMismatch, [
      ev.presented({
        tool: { method: 'tools/call', name: 'a', header_method: 'tools/list', header_name: 'b' },
      }),
    ])
    expect(both!.evidence.mismatches).toEqual(['method', 'name'])
  })

  it('reads a batch: a header naming any of its methods or tools matches', () => {
    const batch = (tool: Fields) =>
      ev.presented({
        tool,
        attributes: { jsonrpc_methods: ['tools/list', 'tools/call'], jsonrpc_tools: ['a', 'b'] },
      })
    expect(
      run(mcpToolHeaderMismatch, [
        batch({ method: 'tools/list', name: 'a', header_method: 'tools/call', header_name: 'b' }),
      ]),
    ).toEqual([])
    const [d] = run(mcpToolHeaderMismatch, [
      batch({ method: 'tools/list', name: 'a', header_method: 'prompts/get', header_name: 'c' }),
    ])
    expect(d!.evidence.mismatches).toEqual(['method', 'name'])
  })

  it("a header naming the body's own tool matches, even when the batch list leaves it out", () => {
    expect(
      run(mcpToolHeaderMismatch, [
        ev.presented({
          tool: { method: 'tools/call', name: 'c', header_method: 'tools/call', header_name: 'c' },
          attributes: { jsonrpc_tools: ['a', 'b'] },
        }),
      ]),
    ).toEqual([])
  })

  it('compares only what both the header and the body name', () => {
    expect(
      run(mcpToolHeaderMismatch, [
        ev.presented({ tool: { header_method: 'tools/list', header_name: 'x' } }),
      ]),
    ).toEqual([])
    expect(
      run(mcpToolHeaderMismatch, [ev.presented({ tool: { method: 'tools/call', name: 'x' } })]),
    ).toEqual([])
    expect(run(mcpToolHeaderMismatch, [ev.issued()])).toEqual([])
  })
})

describe('dpop-htu-mismatch', () => {
  const at = (resource: string, htu: string, more: Fields = {}) =>
    run(dpopHtuMismatch, [
      ev.presented({
        resource,
        token: boundToken({ aud: [resource] }),
        presented_aud: [resource],
        proof: validProof(5, { htu }),
        ...more,
      }),
    ])

  it('a proof for a path beside the resource, not below it, is elsewhere', () => {
    expect(at(MCP, `${MCP}x`)).toHaveLength(1)
    expect(at(MCP, `${MCP}/`)).toEqual([])
    expect(at(MCP, `${MCP}//`)).toEqual([])
  })

  it('a resource without a path takes any path of its origin, not another origin or scheme', () => {
    expect(at('https://api.example.com', 'https://api.example.com/any/path')).toEqual([])
    expect(at('https://api.example.com', 'https://api2.example.com/')).toHaveLength(1)
    expect(at('https://api.example.com', 'http://api.example.com/')).toHaveLength(1)
  })

  it('a proof whose htu is no http(s) URI is elsewhere; a resource that is none is not judged', () => {
    expect(at(MCP, 'urn:example:mcp')).toHaveLength(1)
    expect(at(MCP, 'not a uri')).toHaveLength(1)
    expect(at('api://files-mcp', 'https://mcp.example.com/mcp')).toEqual([])
  })

  it('compares http resources too; a path spelled with a double slash is another path', () => {
    expect(at('http://mcp.internal/mcp', 'http://other.internal/mcp')).toHaveLength(1)
    expect(at('http://mcp.internal/mcp', 'http://mcp.internal/mcp/')).toEqual([])
    expect(at(MCP, 'https://mcp.example.com//mcp')).toHaveLength(1)
    expect(at('https://mcp.example.com/mcp//', MCP)).toEqual([])
  })

  it("reads the resource's canonical form, its raw one when there is none", () => {
    expect(at('https://mcp.example.com/%6Dcp', MCP)).toEqual([])
    expect(at(`${MCP}#x`, `${API}/orders`)).toHaveLength(1)
  })

  it('reports the proof it judged, high when accepted', () => {
    const [d] = at(MCP, `${API}/orders`)
    expect(d!.severity).toBe('high')
    expect(d!.keys).toMatchObject({ resource: MCP })
    expect(d!.evidence).toMatchObject({ proof: { scheme: 'DPoP', htu: `${API}/orders` } })
  })
})

describe('bound-token-downgrade', () => {
  it('a DPoP-bound token accepted with another scheme: dpop_bound_as_bearer', () => {
    const [d, ...rest] = run(boundTokenDowngrade, [
      ev.presented({ token: boundToken(), proof: { scheme: 'Bearer', verdict: 'absent' } }),
    ])
    expect(rest).toEqual([])
    expect(d!.keys).toMatchObject({ resource: MCP, client_id: 'agent-7' })
    expect(d!.evidence).toMatchObject({
      downgrade: 'dpop_bound_as_bearer',
      cnf: { jkt: JKT },
      proof: { scheme: 'Bearer', verdict: 'absent' },
    })
  })

  it('a certificate-bound token accepted without a certificate: mtls_bound_without_certificate', () => {
    const mtls = token({ cnf: { 'x5t#S256': CERT } })
    const [d] = run(boundTokenDowngrade, [
      ev.presented({ token: mtls, proof: { scheme: 'Bearer', verdict: 'absent' } }),
    ])
    expect(d!.evidence).toMatchObject({
      downgrade: 'mtls_bound_without_certificate',
      cnf: { 'x5t#S256': CERT },
    })
    expect(
      run(boundTokenDowngrade, [
        ev.presented({
          token: mtls,
          proof: { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: CERT },
        }),
      ]),
    ).toEqual([])
  })

  it('needs proof facts, a binding and an accepted presentation', () => {
    expect(run(boundTokenDowngrade, [ev.presented({ token: boundToken() })])).toEqual([])
    expect(
      run(boundTokenDowngrade, [ev.presented({ proof: { scheme: 'Bearer', verdict: 'absent' } })]),
    ).toEqual([])
    expect(
      run(boundTokenDowngrade, [
        ev.presented({
          token: boundToken(),
          proof: { scheme: 'Bearer', verdict: 'absent' },
          decision: 'rejected',
          reason: 'other',
        }),
      ]),
    ).toEqual([])
    expect(
      run(boundTokenDowngrade, [ev.presented({ token: boundToken(), proof: validProof() })]),
    ).toEqual([])
  })
})

describe('proof-key-mismatch', () => {
  it('a DPoP key other than cnf.jkt: jkt, critical when accepted, high when not', () => {
    const proof = validProof(5, { jkt: OTHER_JKT })
    const [d] = run(proofKeyMismatch, [ev.presented({ token: boundToken(), proof })])
    expect(d!.severity).toBe('critical')
    expect(d!.keys).toMatchObject({ resource: MCP })
    expect(d!.evidence).toMatchObject({
      mismatch: 'jkt',
      cnf: { jkt: JKT },
      proof: { jkt: OTHER_JKT },
    })
    const [r] = run(proofKeyMismatch, [
      ev.presented({ token: boundToken(), proof, decision: 'rejected', reason: 'other' }),
    ])
    expect(r!.severity).toBe('high')
  })

  it('a client certificate other than cnf.x5t#S256: x5t#S256', () => {
    const [d] = run(proofKeyMismatch, [
      ev.presented({
        token: token({ cnf: { 'x5t#S256': CERT } }),
        proof: { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: OTHER_CERT },
      }),
    ])
    expect(d!.evidence).toMatchObject({
      mismatch: 'x5t#S256',
      proof: { cert_thumbprint: OTHER_CERT },
    })
  })

  it('is silent when a side is unknown or both agree', () => {
    const silent = (tok: Fields, proof: Fields) =>
      expect(run(proofKeyMismatch, [ev.presented({ token: tok, proof })])).toEqual([])
    silent(boundToken(), validProof())
    silent(token(), validProof(5, { jkt: OTHER_JKT }))
    silent(boundToken(), validProof(5, { jkt: undefined }))
    silent(token({ cnf: { 'x5t#S256': CERT } }), {
      scheme: 'Bearer',
      verdict: 'valid',
      cert_thumbprint: CERT,
    })
    silent(token({ cnf: { 'x5t#S256': CERT } }), { scheme: 'Bearer', verdict: 'absent' })
    silent(token(), { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: OTHER_CERT })
    expect(run(proofKeyMismatch, [ev.issued({ token: boundToken() })])).toEqual([])
  })
})
