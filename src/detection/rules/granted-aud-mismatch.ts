/** granted-aud-mismatch: the AS granted an `aud` set other than the resources requested. */
import { z } from 'zod'
import { compareResources } from '../../events/resource.js'
import type { ResourceRegistry } from '../../resource-registry.js'
import type { EventRule, Severity } from '../rule.js'
import { exampleEvents, API, MCP, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { canonicalSet } from './lib/resources.js'
import { attribute, detect, isIssuance, stringList } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('granted-aud-mismatch')
const CAL = 'https://cal.example.com/'
const CONTACTS = 'https://contacts.example.com/'

/** Values of `a` matching none of `b` (alias-aware; drift variants match, drift is its own rule). */
function unmatched(a: readonly string[], b: readonly string[], registry?: ResourceRegistry) {
  return a.filter((x) => b.every((y) => compareResources(x, y, registry?.aliases) === 'different'))
}

export const grantedAudMismatch: EventRule<typeof params> = {
  kind: 'event',
  id: 'granted-aud-mismatch',
  title: 'Granted audience differs from the requested resources',
  severity: 'high',
  description:
    'A token was issued with an `aud` set that differs from the requested resources (alias-aware; ' +
    'spelling drift is left to `resource-uri-drift`). A refresh or code exchange without ' +
    '`resource` is compared with the original grant (`attributes.grant_resources`), and any ' +
    'issuance that names the grant is checked to stay within it. A refresh that switches resource ' +
    'inside the original grant (RFC 8707 §2.2) is compared with what it requested, never with the ' +
    'previous token, and is benign. High for an audience nobody asked for, outside the grant, or ' +
    'missing; medium when the AS only narrowed an explicit request.',
  rationale:
    'RFC 9068 §3: the `aud` claim "SHOULD have the same value as the resource parameter in the ' +
    'request", and RFC 8707 §2.2 limits refreshes to the resources originally granted "or a ' +
    'subset thereof". An unrequested audience widens where the token is valid; a dropped one hints ' +
    'at AS policy mapping the request to something else (RFC 8707 §2, to be registered as aliases).',
  references: [REF.rfc9068s3, REF.rfc8707s2, REF.rfc8707s22, REF.mcpAudienceBinding],
  mappings: {
    owasp_nhi: ['NHI5', 'NHI4'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-05', 'PR.AA-04', 'DE.AE-02'],
    nist_800_53: ['AC-3', 'AC-6', 'AU-3'],
    nist_800_207: ['tenet-3', 'tenet-4'],
    mcp_2026_07_28: ['mcp-authz/token-audience-binding'],
    mitre: [],
  },
  falsePositives: [
    'An AS that maps a resource to an abstract identifier (RFC 8707 §2) the registry does not list as an alias.',
    'An AS that issues opaque tokens and does not report their audience (`not_audience_restricted`).',
  ],
  runbook: [
    'Compare `requested` and `granted` in the evidence; `reason` says which way they differ.',
    'For an abstract audience, register it as an alias of the requested resource.',
    'Otherwise fix the AS policy: the token must be restricted to what was requested (RFC 9068 §3).',
  ],
  params,
  dedupKey: ['client_id', 'requested', 'granted'],
  dedupWindowS: 86_400,
  evaluate(row, _state, ctx) {
    if (!isIssuance(row)) return []
    const granted = row.granted_aud.length > 0 ? row.granted_aud : row.token_aud
    const grant = stringList(attribute(row, 'grant_resources')) ?? []
    const explicit = row.requested_resources.length > 0
    // Without `resource`, a code exchange or refresh asks for the whole original grant.
    const requested = explicit ? row.requested_resources : grant
    if (requested.length === 0) return []
    const reasons: string[] = []
    let severity: Severity = 'medium'
    const extra = unmatched(granted, requested, ctx.registry)
    const outside = grant.length > 0 ? unmatched(granted, grant, ctx.registry) : []
    const missing = explicit ? unmatched(requested, granted, ctx.registry) : []
    if (granted.length === 0) reasons.push('not_audience_restricted')
    if (extra.length > 0) reasons.push('unrequested_audience')
    if (outside.length > 0) reasons.push('outside_original_grant')
    if (reasons.length > 0) severity = 'high'
    if (missing.length > 0 && granted.length > 0) reasons.push('requested_not_granted')
    if (reasons.length === 0) return []
    const requestedKey = canonicalSet(requested).sort().join(' ')
    return [
      detect(
        row,
        {
          client_id: row.client_id,
          requested: requestedKey,
          granted: canonicalSet(granted).sort().join(' '),
        },
        {
          reasons,
          requested,
          requested_from: explicit ? 'request' : 'original_grant',
          granted,
          unrequested: extra,
          outside_grant: outside,
          not_granted: missing,
          grant_resources: grant,
          grant_type: row.grant_type,
          resource_switch: attribute(row, 'resource_switch') === true,
          token_key: row.token_key,
        },
        { severity },
      ),
    ]
  },
  examples: [
    {
      name: 'an audience nobody asked for',
      fires: true,
      severity: 'high',
      events: [ev.issued({ token: token({ aud: [MCP, API] }), granted_aud: [MCP, API] })],
    },
    {
      name: 'a refresh that leaves the original grant',
      fires: true,
      severity: 'high',
      events: [
        ev.issued({
          grant_type: 'refresh_token',
          token: token({ aud: [API] }),
          requested_resources: [API],
          granted_aud: [API],
          attributes: { grant_resources: [CAL, CONTACTS], resource_switch: true },
        }),
      ],
    },
    {
      name: 'an explicit request the AS narrowed',
      fires: true,
      severity: 'medium',
      events: [ev.issued({ requested_resources: [MCP, API] })],
    },
    {
      name: 'a refresh switching resource within the original grant (RFC 8707 figures 3-6)',
      fires: false,
      events: [
        ev.issued({
          token: token({ aud: [CAL], scopes: ['calendar'] }),
          requested_resources: [CAL],
          granted_aud: [CAL],
          requested_scopes: ['calendar', 'contacts'],
          granted_scopes: ['calendar'],
          attributes: { grant_resources: [CAL, CONTACTS] },
        }),
        ev.issued({
          grant_type: 'refresh_token',
          token: token({ jti: 'at-2', aud: [CONTACTS], scopes: ['contacts'] }),
          requested_resources: [CONTACTS],
          granted_aud: [CONTACTS],
          requested_scopes: ['contacts'],
          granted_scopes: ['contacts'],
          attributes: {
            grant_resources: [CAL, CONTACTS],
            resource_switch: true,
            previous_aud: [CAL],
          },
        }),
      ],
    },
    {
      name: 'a refresh without resource granted a subset of the original grant',
      fires: false,
      events: [
        ev.issued({
          grant_type: 'refresh_token',
          token: token({ aud: [CONTACTS] }),
          requested_resources: [],
          granted_aud: [CONTACTS],
          attributes: { grant_resources: [CAL, CONTACTS] },
        }),
      ],
    },
    {
      name: 'a registered alias as the granted audience',
      fires: false,
      registry: [{ resource: MCP, aliases: ['api://files-mcp'] }],
      events: [
        ev.issued({ token: token({ aud: ['api://files-mcp'] }), granted_aud: ['api://files-mcp'] }),
      ],
    },
  ],
}
