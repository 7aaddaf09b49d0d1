/**
 * dpop-proof-replay: one DPoP proof presented twice across the fleet, within its window. A
 * streaming rule: the token's state keeps the proof ids presented with it (token-state.ts), so a
 * replay is found as the replaying event is stored, not at the next scheduled run.
 */
import { z } from 'zod'
import type { EventRow } from '../../events/event-row.js'
import type { Detection, EventRule } from '../rule.js'
import {
  PROOF_RETENTION_S,
  rowTime,
  type ProofPresentation,
  type TokenState,
} from '../token-state.js'
import { exampleEvents } from './lib/example-events.js'
import { isPresentation } from './lib/rows.js'
import {
  at,
  boundToken,
  PROOF_JTI,
  proofEvidence,
  SENDER_REF,
  validProof,
} from './lib/sender-constraint.js'

const params = z.object({
  windowS: z
    .number()
    .int()
    .min(1)
    .max(PROOF_RETENTION_S)
    .default(300)
    .describe(
      "how long after a proof's first presentation another one counts as a replay (the collectors' `dpop.iatWindowSec`); at most the token state's proof retention (900 s)",
    ),
})
const ev = exampleEvents('dpop-proof-replay')
/** A presentation of the proof at server `id`, `seconds` after the base time. */
const at_ = (id: string, seconds: number, o: Record<string, unknown> = {}) =>
  ev.presented({
    occurred_at: at(seconds),
    source: { kind: 'mcp_server', id },
    token: boundToken(),
    proof: validProof(0),
    ...o,
  })

/** One presentation, and a replay of its proof at another server, refused there. */
const first = at_('mcp-1', 1)
const replayRefused = at_('mcp-2', 3, {
  decision: 'rejected',
  reason: 'other',
  http: { method: 'POST', path: '/mcp', status: 401 },
})

export const dpopProofReplay: EventRule<typeof params> = {
  kind: 'event',
  id: 'dpop-proof-replay',
  title: 'DPoP proof replayed',
  severity: 'high',
  description:
    'One DPoP proof (the same `jti`, fingerprinted by the collectors) was presented with its ' +
    'token in two or more requests within `windowS` of its first presentation, at one server or ' +
    'across the fleet; found as the second presentation is stored. Critical when more than one ' +
    'of them was accepted.',
  rationale:
    'A DPoP proof is single-use: RFC 9449 §11.1 has servers remember the `jti`s of the proofs ' +
    'they accepted within their window, which a fleet of stateless servers (MCP servers scaled ' +
    'out, serverless functions) cannot share. The central audit sees every presentation, so a ' +
    'proof captured on the wire or in a log and replayed at another instance, which the instance ' +
    'alone would accept, becomes visible.',
  references: [SENDER_REF.rfc9449s111, SENDER_REF.rfc9449s43],
  mappings: {
    owasp_nhi: ['NHI2'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'DE.AE-03'],
    nist_800_53: ['IA-2(8)', 'SC-23', 'SI-4', 'AU-6'],
    nist_800_207: ['tenet-6', 'tenet-7'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A client or proxy that retries a request with the same proof (a network retry): RFC 9449 asks for a fresh proof per request, so it is a client bug worth fixing.',
    'The same event stored under two event ids (a collector that emitted it twice); the same event read twice (one event id) is not a replay.',
  ],
  runbook: [
    'Look at the servers (`sources`) and addresses (`ips`) of the presentations: the replay is the one from the unexpected place or after the first.',
    'The token was captured along with the proof: revoke its grant, and find where proofs and tokens leak (logs, a proxy).',
    'If replays were accepted, add a shared `jti` store in front of the fleet, or server-issued nonces (RFC 9449 §8, §9).',
  ],
  params,
  dedupKey: ['token_key', 'proof_jti'],
  dedupWindowS: 3600,
  evaluate(row, state, ctx) {
    const replay = replayOf(row, state, ctx.params.windowS)
    return replay === undefined ? [] : [replay]
  },
  examples: [
    {
      name: 'one proof replayed at a second server of a three-server fleet, accepted there',
      fires: true,
      severity: 'critical',
      events: [
        at_('mcp-1', 1),
        at_('mcp-2', 4, { network: { ip: '198.51.100.20' } }),
        at_('mcp-3', 6, {
          proof: validProof(0, { jti_fingerprint: 'twoU7h4V16qUvYEOwG9Mt3o0bo8zrva_6uPXxEQtepM' }),
        }),
      ],
    },
    {
      name: 'the replay refused (a server with its own jti store)',
      fires: true,
      severity: 'high',
      events: [
        at_('mcp-1', 1),
        at_('mcp-1', 2, {
          decision: 'rejected',
          reason: 'other',
          http: { method: 'POST', path: '/mcp', status: 401 },
        }),
      ],
    },
    {
      name: 'a replay read again after a redelivery, among the first presentation read twice',
      fires: true,
      severity: 'high',
      events: [first, first, replayRefused, first, replayRefused],
    },
    {
      name: 'the same event read twice (a Kafka redelivery, one event id) is not a replay',
      fires: false,
      events: [first, first],
    },
    {
      name: 'three requests, three fresh proofs',
      fires: false,
      events: [
        at_('mcp-1', 1),
        at_('mcp-2', 2, {
          proof: validProof(0, { jti_fingerprint: 'twoU7h4V16qUvYEOwG9Mt3o0bo8zrva_6uPXxEQtepM' }),
        }),
        at_('mcp-3', 3, {
          proof: validProof(0, { jti_fingerprint: '7DFoL95WGReVL_eKeore_9D-vDct0mhxkWxGxjA4G0U' }),
        }),
      ],
    },
    {
      name: 'the same proof id long after its window (a client reusing ids days apart)',
      fires: false,
      events: [
        at_('mcp-1', 1),
        at_('mcp-2', 86_400, { proof: validProof(86_400, { jti_fingerprint: PROOF_JTI }) }),
      ],
    },
    {
      name: 'bearer presentations (no proof)',
      fires: false,
      events: [
        ev.presented({ occurred_at: at(1), proof: { scheme: 'Bearer', verdict: 'absent' } }),
        ev.presented({ occurred_at: at(2), proof: { scheme: 'Bearer', verdict: 'absent' } }),
      ],
    },
  ],
}

/**
 * The replay `row` shows: the proof's other presentations with this token (the state before the
 * row) within `windowS` of its first one. An event read again (its id already in the state) is
 * not one of them, so redelivery alone never fires, while a replay read again yields the same
 * detection (same key, same event ids: the findings store counts it once).
 */
function replayOf(
  row: EventRow,
  state: TokenState | undefined,
  windowS: number,
): Detection | undefined {
  if (!isPresentation(row) || row.proof_jti === '' || row.token_key === '') return undefined
  const use = state?.proofs?.get(row.proof_jti)
  if (use === undefined) return undefined
  const now = rowTime(row.occurred_at)
  const first = Math.min(use.firstSeen, now)
  const within = (t: number) => t - first <= windowS * 1000
  if (!within(now)) return undefined
  const others = use.presentations.filter((p) => p.eventId !== row.event_id && within(p.at))
  if (others.length === 0) return undefined
  const current: ProofPresentation = {
    eventId: row.event_id,
    at: now,
    accepted: row.decision === 'accepted',
    source: row.source_id,
    ip: row.network_ip,
    resource: row.resource_canonical,
  }
  const all = [...others, current].sort((a, b) => a.at - b.at)
  const seenBefore = use.presentations.some((p) => p.eventId === row.event_id)
  const accepted = all.filter((p) => p.accepted).length
  const distinct = (pick: (p: ProofPresentation) => string) => [
    ...new Set(all.map(pick).filter((v) => v !== '')),
  ]
  return {
    tenant: row.tenant,
    ...(accepted >= 2 && { severity: 'critical' as const }),
    keys: { token_key: row.token_key, proof_jti: row.proof_jti },
    evidence: {
      proof_jti_fingerprint: row.proof_jti,
      presentations: Math.max(use.count + (seenBefore ? 0 : 1), all.length),
      accepted,
      sources: distinct((p) => p.source),
      resources: distinct((p) => p.resource),
      ips: distinct((p) => p.ip),
      client_id: row.client_id,
      first_seen: new Date(all[0]!.at).toISOString(),
      last_seen: new Date(all[all.length - 1]!.at).toISOString(),
      current: proofEvidence(row),
    },
    eventIds: all.map((p) => p.eventId),
    at: all[all.length - 1]!.at,
  }
}
