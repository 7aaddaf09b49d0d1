/** overbroad-audience: an `aud` value that does not pin the token to one specific resource. */
import { z } from 'zod'
import { canonicalizeResource, compareResources } from '../../events/resource.js'
import type { ResourceRegistry } from '../../resource-registry.js'
import type { EventRow } from '../../events/event-row.js'
import type { EventRule } from '../rule.js'
import { exampleEvents, ISSUER, MCP, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { registryEntry } from './lib/resources.js'
import { detect, mintedToken } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('overbroad-audience')
const ORIGIN_ONLY = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*$/

type Reason = 'wildcard' | 'issuer' | 'not_absolute_uri' | 'bare_origin'

/** Why one `aud` value is overbroad, with the registered resources a bare origin covers. */
function judge(
  aud: string,
  row: EventRow,
  registry: ResourceRegistry | undefined,
): { reason: Reason; covers?: string[] } | undefined {
  if (aud.includes('*')) return { reason: 'wildcard' }
  const registered = registryEntry(aud, registry) !== undefined
  if (registered) return undefined
  if (row.issuer !== '' && compareResources(aud, row.issuer) !== 'different')
    return { reason: 'issuer' }
  const form = canonicalizeResource(aud)
  if (!form.valid || form.warnings.includes('no_authority')) return { reason: 'not_absolute_uri' }
  if (!ORIGIN_ONLY.test(form.canonical)) return undefined
  const covers = (registry?.entries ?? [])
    .map((e) => canonicalizeResource(e.resource).canonical)
    .filter((r) => r.startsWith(`${form.canonical}/`))
  return covers.length > 0 ? { reason: 'bare_origin', covers } : undefined
}

export const overbroadAudience: EventRule<typeof params> = {
  kind: 'event',
  id: 'overbroad-audience',
  title: 'Overbroad token audience',
  severity: 'high',
  description:
    'An `aud` value is a wildcard, the issuer itself, not an absolute URI (unless the registry ' +
    'lists it as an alias), or a bare origin (`https://host`) on a host where the registry lists ' +
    'path-scoped resources. Judged once per token: at issuance, or at its first presentation ' +
    'when issuance was not seen. Registered resources are never overbroad.',
  rationale:
    'RFC 8707 §2 asks for "the most specific URI" and, for multi-tenant hosts, the path that ' +
    'identifies the tenant (§3); the MCP specification requires the canonical URI of the MCP ' +
    'server. RFC 9068 §5 requires distinct `aud` values per resource to prevent cross-JWT ' +
    'confusion: an issuer-valued or host-wide audience is accepted by every server on it.',
  references: [REF.rfc8707s2, REF.rfc8707s3, REF.rfc9068s5, REF.mcpCanonical, REF.mcpResourceParam],
  mappings: {
    owasp_nhi: ['NHI5', 'NHI8', 'NHI4'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-05', 'PR.AA-04'],
    nist_800_53: ['AC-6', 'AC-3', 'IA-9'],
    nist_800_207: ['tenet-3'],
    mcp_2026_07_28: ['mcp-authz/resource-parameter', 'mcp-authz/canonical-server-uri'],
    mitre: [],
  },
  falsePositives: [
    'An AS that issues abstract, client-id style audiences: register them as aliases of their resource.',
    'A host that really serves one resource at its root: register the origin itself as the resource.',
  ],
  runbook: [
    'Find the client and grant that produced the audience (`requested_resources` in the evidence).',
    "Configure the AS to use the resource's canonical URI as `aud` (RFC 9068 §3), or register the abstract value as an alias.",
    'Review which servers would accept such a token: every RS that accepts the value is exposed.',
  ],
  params,
  dedupKey: ['client_id', 'audience'],
  dedupWindowS: 86_400,
  evaluate(row, state, ctx) {
    const minted = mintedToken(row, state)
    if (minted === undefined) return []
    return minted.aud.flatMap((aud) => {
      const verdict = judge(aud, row, ctx.registry)
      if (verdict === undefined) return []
      return [
        detect(
          row,
          { client_id: row.client_id, audience: aud },
          {
            reason: verdict.reason,
            aud: minted.aud,
            issuer: row.issuer,
            token_key: row.token_key,
            seen_on: minted.via,
            requested_resources: row.requested_resources,
            ...(verdict.covers && { covers_registered: verdict.covers }),
          },
        ),
      ]
    })
  },
  examples: [
    {
      name: 'a wildcard audience',
      fires: true,
      events: [ev.issued({ token: token({ aud: ['*'] }), granted_aud: ['*'] })],
    },
    {
      name: 'the issuer as audience',
      fires: true,
      events: [ev.issued({ token: token({ aud: [`${ISSUER}/`] }), granted_aud: [`${ISSUER}/`] })],
    },
    {
      name: 'a logical name that is not a URI',
      fires: true,
      events: [ev.presented({ token: token({ aud: ['files'] }), presented_aud: ['files'] })],
    },
    {
      name: 'the bare origin of a host with path-scoped MCP servers',
      fires: true,
      registry: [{ resource: MCP }, { resource: 'https://mcp.example.com/admin/mcp' }],
      events: [
        ev.issued({
          token: token({ aud: ['https://mcp.example.com'] }),
          granted_aud: ['https://mcp.example.com'],
        }),
      ],
    },
    {
      name: 'the canonical URI of the MCP server',
      fires: false,
      registry: [{ resource: MCP }, { resource: 'https://mcp.example.com/admin/mcp' }],
      events: [ev.issued(), ev.presented()],
    },
    {
      name: 'a logical name registered as an alias',
      fires: false,
      registry: [{ resource: MCP, aliases: ['files'] }],
      events: [ev.issued({ token: token({ aud: ['files'] }), granted_aud: ['files'] })],
    },
    {
      name: 'an origin that is itself the registered resource',
      fires: false,
      registry: [{ resource: 'https://tools.example.com' }],
      events: [
        ev.issued({
          token: token({ aud: ['https://tools.example.com'] }),
          granted_aud: ['https://tools.example.com'],
        }),
      ],
    },
  ],
}
