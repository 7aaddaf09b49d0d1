/** resource-uri-drift: two or more raw spellings of one resource (one drift key) in use. */
import { z } from 'zod'
import { compareResources } from '../../events/resource.js'
import type { ScheduledRule } from '../rule.js'
import { exampleEvents, at, MCP, token } from './lib/example-events.js'
import { lookbackDays } from './lib/params.js'
import { REF } from './lib/references.js'
import { resultDetection } from './lib/scheduled.js'
import { registryEntry } from './lib/resources.js'

const params = z.object({
  lookbackDays: lookbackDays(
    "how far back spellings are counted, in days (bounded by the rollup's retention)",
  ),
  minSpellings: z
    .number()
    .int()
    .min(2)
    .default(2)
    .describe('raw spellings of one drift key that make drift'),
  maxResults: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('most drift keys reported per run'),
})
const ev = exampleEvents('resource-uri-drift')
const SLASH = `${MCP}/`

type Variant = [string, string, number, string[], string, string]

export const resourceUriDrift: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'resource-uri-drift',
  title: 'Resource identifier drift',
  severity: 'medium',
  description:
    'Two or more raw spellings of one resource (same drift key: scheme, case, default port, ' +
    'trailing slash or path-case differences) are in use across requested resources, granted ' +
    '`aud`, presented `aud` and RS configuration. Evaluated for every drift key used in the ' +
    'window, over the lookback; the evidence lists each spelling with its count and roles. No ' +
    'finding when every spelling is declared in the registry (as the resource or an alias).',
  rationale:
    'JWT `aud` matching is exact (RFC 7519 §2, RFC 9728 §3.3), while RFC 3986 §6.2 treats some of ' +
    'these spellings as equivalent and some (trailing slash, path case, http/https) as different ' +
    'resources. Drift breaks exact-match servers with 401 loops, and tempts operators into lax ' +
    'prefix or case-insensitive matching that accepts tokens meant for someone else. The MCP ' +
    'specification asks for one canonical URI without a trailing slash.',
  references: [REF.rfc7519s2, REF.rfc9728s33, REF.rfc3986s62, REF.mcpCanonical, REF.rfc8707s2],
  mappings: {
    owasp_nhi: ['NHI4', 'NHI6'],
    owasp_asi: [],
    nist_csf: ['ID.AM-02', 'ID.AM-03', 'PR.PS-01', 'DE.CM-09'],
    nist_800_53: ['CM-2', 'CM-6', 'CM-8', 'SI-4'],
    nist_800_207: ['tenet-1', 'tenet-7'],
    mcp_2026_07_28: ['mcp-authz/canonical-server-uri'],
    mitre: [],
  },
  falsePositives: [
    'Two distinct resources that differ only by path case or trailing slash (rare, and confusing ' +
      'by itself): register both explicitly.',
    'A migration from one spelling to another, while both are live.',
  ],
  runbook: [
    'Read the spellings in the evidence: which role uses which (`requested`, `granted_aud`, `presented_aud`, `resource_server`).',
    'Pick the canonical URI (lowercase scheme and host, no default port, no trailing slash) and align the client, the AS and the RS on it.',
    'Check that the RS does not accept spellings by prefix or case-insensitive matching.',
  ],
  params,
  dedupKey: ['drift_key'],
  dedupWindowS: 86_400,
  sql: 'resource-uri-drift',
  queryParams: (p) => ({
    lookback_s: p.lookbackDays * 86_400,
    min_spellings: p.minSpellings,
    max_results: p.maxResults,
  }),
  toDetection(row, ctx) {
    const variants = (row.variants as Variant[]).map(
      ([raw, canonical, events, roles, firstSeen, lastSeen]) => {
        const entry = registryEntry(raw, ctx.registry)
        const declared =
          entry !== undefined && (entry.resource === raw || (entry.aliases ?? []).includes(raw))
        return {
          raw,
          canonical,
          events: Number(events),
          roles,
          first_seen: firstSeen,
          last_seen: lastSeen,
          declared,
        }
      },
    )
    if (variants.every((v) => v.declared)) return undefined
    const [top] = variants
    const classes = variants
      .slice(1)
      .map((v) => compareResources(top!.raw, v.raw, ctx.registry?.aliases))
    return resultDetection(
      row,
      'last_occurred',
      { drift_key: String(row.drift_key) },
      {
        drift_key: row.drift_key,
        variants,
        canonical_forms: Number(row.canonical_forms),
        comparison_to_most_used: classes,
      },
    )
  },
  examples: [
    {
      name: 'the AS grants a trailing-slash spelling of the MCP server',
      fires: true,
      events: [
        ev.issued({ token: token({ aud: [SLASH] }), granted_aud: [SLASH] }),
        ev.presented({ token: token({ aud: [SLASH] }), presented_aud: [SLASH] }),
      ],
    },
    {
      name: 'an uppercase host and a default port in the request',
      fires: true,
      events: [
        ev.authorization({ requested_resources: ['HTTPS://MCP.example.com:443/mcp'] }),
        ev.presented({ occurred_at: at(60) }),
      ],
    },
    {
      name: 'one spelling everywhere',
      fires: false,
      events: [ev.authorization(), ev.issued(), ev.presented()],
    },
    {
      name: 'a legitimate alias from the registry is not drift',
      fires: false,
      registry: [{ resource: MCP, aliases: ['api://files-mcp'] }],
      events: [
        ev.issued({ token: token({ aud: ['api://files-mcp'] }), granted_aud: ['api://files-mcp'] }),
        ev.presented({
          token: token({ aud: ['api://files-mcp'] }),
          presented_aud: ['api://files-mcp'],
        }),
      ],
    },
    {
      name: 'both spellings declared in the registry',
      fires: false,
      registry: [{ resource: MCP, aliases: [SLASH] }],
      events: [ev.issued({ token: token({ aud: [SLASH] }), granted_aud: [SLASH] }), ev.presented()],
    },
  ],
}
