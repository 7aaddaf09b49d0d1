/** scope-not-valid-for-resource: granted scopes that no audience resource registers. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, API, MCP, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { canonicalSet, distinctResources, registryEntry } from './lib/resources.js'
import { detect, mintedToken } from './lib/rows.js'

const params = z.object({
  ignoreScopes: z
    .array(z.string())
    .default(['openid', 'offline_access', 'profile', 'email', 'address', 'phone'])
    .describe('scopes addressed to the AS itself (OpenID Connect), never to a resource'),
})
const ev = exampleEvents('scope-not-valid-for-resource')
const REGISTRY = [
  { resource: MCP, scopes: ['files:read', 'files:write'] },
  { resource: API, scopes: ['billing:read'] },
]

export const scopeNotValidForResource: EventRule<typeof params> = {
  kind: 'event',
  id: 'scope-not-valid-for-resource',
  title: 'Granted scope has no meaning at the token audience',
  severity: 'medium',
  description:
    "A token was granted scopes that none of its audience resources registers (the registry's " +
    '`scopes`). Judged only when every audience resource is registered with scopes: a resource ' +
    'without registered scopes gives no finding. OpenID Connect scopes are ignored.',
  rationale:
    'RFC 9068 §2.2.3: "All the individual scope strings in the "scope" claim MUST have meaning ' +
    'for the resources indicated in the "aud" claim". RFC 8707 §2.2 asks the AS to downscope to ' +
    'what each resource can process, and §2 lets it refuse an invalid resource and scope ' +
    'combination with `invalid_target`. A stray scope is unused privilege the token still carries.',
  references: [REF.rfc9068s22, REF.rfc9068s5, REF.rfc8707s22, REF.mcpScopeMinimization],
  mappings: {
    owasp_nhi: ['NHI5'],
    owasp_asi: ['ASI03', 'ASI02'],
    nist_csf: ['PR.AA-05'],
    nist_800_53: ['AC-6', 'AC-3', 'AC-24'],
    nist_800_207: ['tenet-3', 'tenet-4'],
    mcp_2026_07_28: ['mcp-authz/scope-selection'],
    mitre: [],
  },
  falsePositives: [
    'A registry entry whose `scopes` list is out of date with the server.',
    'AS-level scopes other than the OpenID Connect ones: add them to `ignoreScopes`.',
  ],
  runbook: [
    'Compare `invalid_scopes` with the scopes each audience registers.',
    'Fix the AS to downscope per resource (RFC 8707 §2.2), or update the registry if the server gained the scope.',
  ],
  params,
  dedupKey: ['client_id', 'resource'],
  dedupWindowS: 86_400,
  evaluate(row, state, ctx) {
    const minted = mintedToken(row, state)
    if (minted === undefined || minted.scopes.length === 0) return []
    const resources = distinctResources(minted.aud, ctx.registry)
    if (resources.length === 0) return []
    const entries = resources.map((r) => registryEntry(r, ctx.registry))
    const known = new Set<string>()
    for (const e of entries) {
      if (e?.scopes === undefined || e.scopes.length === 0) return []
      for (const s of e.scopes) known.add(s)
    }
    const ignored = new Set(ctx.params.ignoreScopes)
    const invalid = minted.scopes.filter((s) => !known.has(s) && !ignored.has(s))
    if (invalid.length === 0) return []
    return [
      detect(
        row,
        { client_id: row.client_id, resource: canonicalSet(resources).sort().join(' ') },
        {
          invalid_scopes: invalid,
          granted_scopes: minted.scopes,
          aud: minted.aud,
          registered_scopes: [...known].sort(),
          requested_scopes: row.requested_scopes,
          token_key: row.token_key,
          seen_on: minted.via,
        },
      ),
    ]
  },
  examples: [
    {
      name: 'a billing scope on a token for the files server',
      fires: true,
      registry: REGISTRY,
      events: [
        ev.issued({
          token: token({ scopes: ['files:read', 'billing:read'] }),
          granted_scopes: ['files:read', 'billing:read'],
        }),
      ],
    },
    {
      name: 'scopes that the audience registers, plus openid',
      fires: false,
      registry: REGISTRY,
      events: [
        ev.issued({
          token: token({ scopes: ['openid', 'files:read', 'files:write'] }),
          granted_scopes: ['openid', 'files:read', 'files:write'],
        }),
      ],
    },
    {
      name: 'each scope valid at one of two audiences',
      fires: false,
      registry: REGISTRY,
      events: [
        ev.issued({
          token: token({ aud: [MCP, API], scopes: ['files:read', 'billing:read'] }),
          granted_aud: [MCP, API],
          granted_scopes: ['files:read', 'billing:read'],
        }),
      ],
    },
    {
      name: 'an audience with no scopes in the registry',
      fires: false,
      registry: [{ resource: MCP }],
      events: [ev.issued({ granted_scopes: ['anything'] })],
    },
  ],
}
