/** cross-audience-replay: one token presented at several resources, at least one outside its aud. */
import { z } from 'zod'
import { compareResources } from '../../events/resource.js'
import type { Detection, EventRule } from '../rule.js'
import type { Presentation } from '../token-state.js'
import { exampleEvents, API, MCP, at, token } from './lib/example-events.js'
import { TOKEN_AT_RESOURCE } from './lib/presentations.js'
import { REF } from './lib/references.js'
import { outsideAudience } from './lib/resources.js'
import { rowTime } from '../token-state.js'
import { isPresentation, presentationEvidence } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('cross-audience-replay')
const CAL = 'https://cal.example.com/'
const CONTACTS = 'https://contacts.example.com/'

export const crossAudienceReplay: EventRule<typeof params> = {
  kind: 'event',
  id: 'cross-audience-replay',
  title: 'Token replayed at a resource outside its audience',
  severity: 'high',
  description:
    'One token key was presented at two or more canonical resources and at least one of them is ' +
    'outside its `aud` (alias-aware). Critical when a resource outside the audience accepted it. ' +
    'Fan-out within a declared multi-audience `aud` is not replay, and neither are drift variants ' +
    'of one resource.',
  rationale:
    'RFC 8707 §3: an audience-restricted token "cannot then be taken by that resource and ' +
    'presented elsewhere". The same token at a second server outside its audience is the ' +
    'signature of a malicious or compromised server reusing what it received (RFC 9728 §7.4), the ' +
    'first of the two dimensions of MCP Access Token Privilege Restriction, and of token theft.',
  references: [REF.rfc8707s3, REF.rfc9728s74, REF.mcpPrivilege, REF.mcpPassthrough, REF.nist800207],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI9'],
    owasp_asi: ['ASI03', 'ASI07'],
    nist_csf: ['DE.CM-09', 'DE.AE-03', 'DE.AE-02', 'PR.AA-04'],
    nist_800_53: ['SI-4', 'AU-6(3)', 'SC-23', 'IA-5'],
    nist_800_207: ['tenet-3', 'tenet-7'],
    mcp_2026_07_28: ['mcp-authz/access-token-privilege-restriction', 'mcp-authz/token-passthrough'],
    mitre: ['T1550.001', 'T1528'],
  },
  falsePositives: [
    'An abstract audience the registry does not yet map to every resource it legitimately covers.',
    'A gateway that forwards the token to an internal service configured with another identifier.',
  ],
  runbook: [
    'Read the token timeline: where it was minted for (`audience`), where it was presented first and where it went next.',
    'If a server outside the audience accepted it (critical), that server does not validate `aud`: fix it (RFC 9068 §4).',
    'Revoke the token and its grant; the first server in the timeline that is inside the audience is the likely leak point.',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 86_400,
  evaluate(row, state, ctx) {
    if (!isPresentation(row) || row.token_key === '' || row.resource_canonical === '') return []
    const audience =
      state !== undefined && state.audience.length > 0
        ? state.audience
        : [...new Set([...row.token_aud_canonical, ...row.presented_aud_canonical])]
    // An audience never seen (opaque token, no issuance event): nothing to be outside of.
    if (audience.length === 0) return []
    const here = row.resource_canonical
    const before = state?.presentations.get(here)
    const others = [...(state?.presentations.values() ?? [])].filter(
      (p) => compareResources(p.resource, here, ctx.registry?.aliases) === 'different',
    )
    if (others.length === 0) return []
    const outside = (r: string) => outsideAudience(r, audience, ctx.registry)
    const accepted = row.decision === 'accepted'

    // Each occurrence of a finding is one presentation at its (outside) resource, at that
    // presentation's time: count, first_seen and last_seen describe the replays, never the
    // legitimate uses inside the audience (those are in the evidence's `presentations`).
    const replays: { resource: string; accepted: boolean; eventIds: string[]; at: number }[] = []
    if (outside(row.resource)) {
      // Every presentation outside the audience once the token was used elsewhere: this one.
      replays.push({
        resource: here,
        accepted: accepted || before?.accepted === true,
        eventIds: [row.event_id],
        at: rowTime(row.occurred_at),
      })
    } else if (before === undefined) {
      // The token reached this in-audience resource after being used outside it: the uses
      // outside, seen before (the first at its time, the others at the latest's).
      for (const p of others)
        if (outside(p.resource)) {
          const [first, ...rest] = p.eventIds
          if (first !== undefined)
            replays.push({
              resource: p.resource,
              accepted: p.accepted,
              eventIds: [first],
              at: p.firstSeen,
            })
          if (rest.length > 0)
            replays.push({
              resource: p.resource,
              accepted: p.accepted,
              eventIds: rest,
              at: p.lastSeen,
            })
        }
    }
    const timeline = [...others, ...(before ? [before] : [])].map((p) => summary(p, outside))
    return replays.map((r): Detection => ({
      tenant: row.tenant,
      severity: r.accepted ? 'critical' : 'high',
      keys: { token_key: row.token_key, resource: r.resource, client_id: row.client_id },
      evidence: {
        audience,
        outside_resource: r.resource,
        accepted_outside: r.accepted,
        presentations: timeline,
        current: presentationEvidence(row),
      },
      eventIds: r.eventIds,
      at: r.at,
    }))
  },
  examples: [
    {
      name: 'a token for the MCP server tried at the API afterwards and rejected there',
      fires: true,
      severity: 'high',
      events: [
        ev.issued(),
        ev.presented(),
        ev.presented({
          occurred_at: at(30),
          source: { kind: 'resource_server', id: 'api' },
          resource: API,
          decision: 'rejected',
          reason: 'aud_mismatch',
        }),
      ],
    },
    {
      name: 'a token for the MCP server accepted by an API that does not check aud',
      fires: true,
      severity: 'critical',
      events: [
        ev.presented(),
        ev.presented({ occurred_at: at(30), resource: API, aud_validated: false }),
      ],
    },
    {
      name: 'used outside its audience first, then at its own server',
      fires: true,
      severity: 'high',
      events: [
        ev.presented({ resource: API, decision: 'rejected', reason: 'aud_mismatch' }),
        ev.presented({ occurred_at: at(30) }),
      ],
    },
    {
      name: 'fan-out inside a declared multi-audience aud',
      fires: false,
      registry: [
        { resource: MCP, multi_audience_allowed: true },
        { resource: API, multi_audience_allowed: true },
      ],
      events: [
        ev.issued({
          token: token({ aud: [MCP, API] }),
          requested_resources: [MCP, API],
          granted_aud: [MCP, API],
        }),
        ev.presented({ token: token({ aud: [MCP, API] }), presented_aud: [MCP, API] }),
        ev.presented({
          occurred_at: at(30),
          token: token({ aud: [MCP, API] }),
          resource: API,
          presented_aud: [MCP, API],
        }),
      ],
    },
    {
      name: 'an aud alias of the second resource is inside the audience',
      fires: false,
      registry: [{ resource: API, aliases: ['api://billing'] }],
      events: [
        ev.presented({
          token: token({ aud: [MCP, 'api://billing'] }),
          presented_aud: [MCP, 'api://billing'],
        }),
        ev.presented({
          occurred_at: at(30),
          token: token({ aud: [MCP, 'api://billing'] }),
          resource: API,
          presented_aud: [MCP, 'api://billing'],
        }),
      ],
    },
    {
      name: 'a refresh that switches resource within the original grant mints a new token',
      fires: false,
      events: [
        ev.issued({ token: token({ aud: [CAL] }), requested_resources: [CAL], granted_aud: [CAL] }),
        ev.presented({ token: token({ aud: [CAL] }), resource: CAL, presented_aud: [CAL] }),
        ev.issued({
          occurred_at: at(60),
          grant_type: 'refresh_token',
          token: token({ jti: 'at-2', aud: [CONTACTS] }),
          requested_resources: [CONTACTS],
          granted_aud: [CONTACTS],
          attributes: { grant_resources: [CAL, CONTACTS], resource_switch: true },
        }),
        ev.presented({
          occurred_at: at(65),
          token: token({ jti: 'at-2', aud: [CONTACTS] }),
          resource: CONTACTS,
          presented_aud: [CONTACTS],
        }),
      ],
    },
    {
      name: 'one client with separate, correctly bound tokens for two servers',
      fires: false,
      events: [
        ev.presented(),
        ev.presented({
          occurred_at: at(30),
          token: token({ jti: 'at-2', aud: [API] }),
          resource: API,
          presented_aud: [API],
        }),
      ],
    },
  ],
}

function summary(p: Presentation, outside: (r: string) => boolean) {
  return {
    resource: p.resource,
    outside_audience: outside(p.resource),
    accepted: p.accepted,
    count: p.count,
    // The presentations' own events (the first few kept): the evidence of the legitimate uses
    // beside the replays the finding counts.
    event_ids: p.eventIds,
    first_seen: new Date(p.firstSeen).toISOString(),
    last_seen: new Date(p.lastSeen).toISOString(),
  }
}
