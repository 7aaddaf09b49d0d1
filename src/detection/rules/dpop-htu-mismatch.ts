/** dpop-htu-mismatch: a DPoP proof minted for another resource than where it was presented. */
import { z } from 'zod'
import type { EventRow } from '../../events/event-row.js'
import type { EventRule } from '../rule.js'
import { API, exampleEvents, MCP } from './lib/example-events.js'
import { detectAtResource, TOKEN_AT_RESOURCE } from './lib/presentations.js'
import { isPresentation } from './lib/rows.js'
import { boundToken, proofEvidence, SENDER_REF, validProof } from './lib/sender-constraint.js'

const params = z.object({})
const ev = exampleEvents('dpop-htu-mismatch')

/** origin and path of an http(s) URI, lower-case origin, default port dropped; undefined otherwise. */
function parts(uri: string): { origin: string; path: string } | undefined {
  try {
    const u = new URL(uri)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined
    return { origin: u.origin, path: u.pathname.replace(/\/+$/, '') }
  } catch {
    return undefined
  }
}

/**
 * The proof's `htu` names another resource: another origin than the resource's, or (for a
 * resource with a path, as MCP servers have) a path outside it. Resources that are not http(s)
 * URIs (`api://...`) name no place to compare with.
 */
function elsewhere(row: EventRow): boolean {
  if (row.proof_htu === '') return false
  const resource = parts(row.resource_canonical || row.resource)
  if (resource === undefined) return false
  const htu = parts(row.proof_htu)
  if (htu === undefined) return true
  if (htu.origin !== resource.origin) return true
  return (
    resource.path !== '' && htu.path !== resource.path && !htu.path.startsWith(`${resource.path}/`)
  )
}

export const dpopHtuMismatch: EventRule<typeof params> = {
  kind: 'event',
  id: 'dpop-htu-mismatch',
  title: 'DPoP proof minted for another resource',
  severity: 'medium',
  description:
    "A DPoP proof's `htu` names another server (origin) than the resource it was presented at, or " +
    'a path outside a resource that has one (an MCP server URI). High when the server accepted it.',
  rationale:
    'RFC 9449 binds each proof to one request: `htm` and `htu` must match the method and URI it ' +
    'is sent with (§4.3 checks 8 and 9, §11.7). A proof for another resource was captured from, ' +
    'or minted for, a request elsewhere: a replay attempt across servers, or a client or proxy ' +
    'that rewrites URLs. A server that accepts it does not check `htu`.',
  references: [SENDER_REF.rfc9449s43, SENDER_REF.rfc9449s117, SENDER_REF.rfc9449s111],
  mappings: {
    owasp_nhi: ['NHI2'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'PR.AA-04'],
    nist_800_53: ['SC-23', 'SI-4', 'SI-10'],
    nist_800_207: ['tenet-3'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A server reached through a public origin other than its resource identifier (a gateway, a vanity host): configure the collector `dpop.origin`, or register the alias.',
  ],
  runbook: [
    'Compare `proof.htu` with `resource`: which server was the proof made for?',
    'Look for presentations of the same proof (`proof.jti_fingerprint`) at that server: a proof carried from one server to another is a replay.',
    'If it was accepted, fix the server: it must compare `htu` with the request URI (enforce mode does).',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 3600,
  evaluate(row) {
    if (!isPresentation(row) || !elsewhere(row)) return []
    const severity = row.decision === 'accepted' ? 'high' : 'medium'
    return [{ ...detectAtResource(row, proofEvidence(row)), severity }]
  },
  examples: [
    {
      name: 'a proof for the API presented at the MCP server, refused',
      fires: true,
      severity: 'medium',
      events: [
        ev.presented({
          token: boundToken(),
          decision: 'rejected',
          reason: 'other',
          proof: validProof(5, {
            verdict: 'invalid',
            failure: 'htu_mismatch',
            htu: `${API}/orders`,
          }),
        }),
      ],
    },
    {
      name: 'a proof for another path of the same host, accepted',
      fires: true,
      severity: 'high',
      events: [
        ev.presented({
          token: boundToken(),
          proof: validProof(5, { htu: 'https://mcp.example.com/admin' }),
        }),
      ],
    },
    {
      name: 'a proof for the resource itself',
      fires: false,
      events: [ev.presented({ token: boundToken(), proof: validProof(5, { htu: MCP }) })],
    },
    {
      name: 'a proof for a path below the resource, in upper-case host',
      fires: false,
      events: [
        ev.presented({
          token: boundToken(),
          proof: validProof(5, { htu: 'https://MCP.example.com:443/mcp/messages' }),
        }),
      ],
    },
    {
      name: 'a bearer presentation (no proof)',
      fires: false,
      events: [ev.presented({ proof: { scheme: 'Bearer', verdict: 'absent' } })],
    },
  ],
}
