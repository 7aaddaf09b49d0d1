/** dpop-proof-replay: one DPoP proof presented twice across the fleet, within its window. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { exampleEvents } from './lib/example-events.js'
import { maxResults } from './lib/params.js'
import { resultDetection } from './lib/scheduled.js'
import { at, boundToken, PROOF_JTI, SENDER_REF, validProof } from './lib/sender-constraint.js'

const params = z.object({
  windowS: z
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(300)
    .describe(
      "how long after its `iat` a proof counts as live (the collectors' `dpop.iatWindowSec`): a second presentation within it is a replay",
    ),
  maxResults: maxResults(),
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

export const dpopProofReplay: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'dpop-proof-replay',
  title: 'DPoP proof replayed',
  severity: 'high',
  description:
    'One DPoP proof (the same `jti`, fingerprinted by the collectors) was presented in two or ' +
    'more requests within `windowS` of its `iat`, at one server or across the fleet. Critical when ' +
    'more than one of them was accepted.',
  rationale:
    'A DPoP proof is single-use: RFC 9449 §11.1 has servers remember the `jti`s of the proofs ' +
    'they accepted within their window, which a fleet of stateless servers (MCP servers scaled ' +
    'out, serverless functions) cannot share. The central audit sees every presentation, so a ' +
    'proof captured on the wire or in a log and replayed at another instance, which the instance ' +
    'alone would accept, becomes visible.',
  references: [SENDER_REF.rfc9449s111, SENDER_REF.rfc9449s43],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI7'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'DE.AE-03'],
    nist_800_53: ['SC-23', 'SI-4', 'AU-6'],
    nist_800_207: ['tenet-6', 'tenet-7'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A client or proxy that retries a request with the same proof (a network retry): RFC 9449 asks for a fresh proof per request, so it is a client bug worth fixing.',
    'The same event stored under two event ids (a collector that emitted it twice).',
  ],
  runbook: [
    'Look at the servers (`sources`) and addresses (`ips`) of the presentations: the replay is the one from the unexpected place or after the first.',
    'The token was captured along with the proof: revoke its grant, and find where proofs and tokens leak (logs, a proxy).',
    'If replays were accepted, add a shared `jti` store in front of the fleet, or server-issued nonces (RFC 9449 §8, §9).',
  ],
  params,
  dedupKey: ['token_key', 'proof_jti'],
  dedupWindowS: 3600,
  sql: 'dpop-proof-replay',
  queryParams: (p) => ({
    window_s: p.windowS,
    lookback_s: p.windowS * 2,
    max_results: p.maxResults,
  }),
  toDetection(row) {
    const accepted = Number(row.accepted)
    return {
      ...resultDetection(
        row,
        'last_occurred',
        { token_key: String(row.token_key), proof_jti: String(row.proof_jti) },
        {
          proof_jti_fingerprint: row.proof_jti,
          presentations: Number(row.presentations),
          accepted,
          sources: row.sources,
          resources: row.resources,
          ips: row.ips,
          client_id: row.client_id,
          first_seen: row.first_occurred,
          last_seen: row.last_occurred,
        },
      ),
      ...(accepted >= 2 && { severity: 'critical' as const }),
    }
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
