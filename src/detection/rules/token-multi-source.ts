/** token-multi-source: one token key used from several networks within a short window. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { rowTime } from '../token-state.js'
import { exampleEvents, at, token } from './lib/example-events.js'
import { REF } from './lib/references.js'

const params = z.object({
  minSources: z
    .number()
    .int()
    .min(2)
    .default(3)
    .describe(
      "distinct networks in one window, one of them new to the token's holder, that make a finding",
    ),
  inTurn: z
    .boolean()
    .default(true)
    .describe(
      'also a finding for two networks, one new and one usual, used in turn (each before and after the other): two holders at once',
    ),
  toleranceS: z
    .number()
    .int()
    .min(0)
    .default(10)
    .describe(
      'how far apart, at least, uses must be to count as taking turns (clock skew, a move)',
    ),
  learnDays: z
    .number()
    .min(0)
    .max(30)
    .default(7)
    .describe("how far back a holder's usual networks are learned, in days"),
  establishedHours: z
    .number()
    .min(0)
    .default(24)
    .describe(
      "how long before a window a holder must have been seen for its networks to count as usual (a day-one user has none; a client-credentials holder's other tokens' networks count from the first day)",
    ),
  windowS: z
    .number()
    .int()
    .min(2)
    .default(300)
    .describe('window length in seconds; windows hop by half of it'),
  ipv4PrefixLength: z
    .number()
    .int()
    .min(8)
    .max(32)
    .multipleOf(8)
    .default(24)
    .describe(
      'IPv4 addresses are compared by this prefix (bits, multiple of 8): /24 keeps a NAT pool or an egress range one network',
    ),
  ipv6PrefixLength: z
    .number()
    .int()
    .min(8)
    .max(128)
    .multipleOf(8)
    .default(56)
    .describe(
      "IPv6 addresses are compared by this prefix (bits, multiple of 8): /64 is one link's privacy addresses, /56 a site's prefixes as RFC 6177 advises ISPs to delegate",
    ),
  maxLatenessS: z
    .number()
    .int()
    .min(0)
    .default(3600)
    .describe(
      'how late (occurred_at before the window) an event may arrive and still be judged with its peers',
    ),
  maxResults: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('detections one run reports at most'),
})
const ev = exampleEvents('token-multi-source')
const from = (ip: string, seconds: number, jti = 'at-1', who: Record<string, unknown> = {}) =>
  ev.presented({ occurred_at: at(seconds), network: { ip }, token: token({ jti }), ...who })
/** A client-credentials worker fleet: the client is the subject (RFC 9068 §2.2). */
const FLEET = { client_id: 'billing-worker', subject: 'billing-worker' }
/** Earlier tokens of a holder, one per hour from each of `ips`, two days before. */
const history = (ips: readonly string[], who: Record<string, unknown> = {}) =>
  ips.flatMap((ip, i) =>
    [0, 1, 2].map((h) => from(ip, -172_800 + h * 3600 + i, `old-${h}-${i}`, who)),
  )

export const tokenMultiSource: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'token-multi-source',
  title: 'Token used from several networks at once',
  severity: 'high',
  description:
    'One token key was presented from several networks (addresses cut to `ipv4PrefixLength` / ' +
    "`ipv6PrefixLength`) within one window of `windowS` seconds, one of them new to the token's " +
    'holder: its client and subject, so a client-credentials token is held by the client (its ' +
    "fleet of workers) and a user's token by that user at that client. A network is usual for " +
    'the holder when the holder used it, with any token, before the window began (learned over ' +
    '`learnDays`), once the holder was first seen `establishedHours` before it (a ' +
    'client-credentials holder, whose client is its subject, also takes the networks its other ' +
    'tokens used before, from its first day: a fleet is on its own egress from its second ' +
    'token). A window fires with `minSources` networks, or with two when the new one and a ' +
    'usual one were used in turn, each before and after the other by more than `toleranceS` ' +
    '(`inTurn`): a device that moves, or a rotated IPv6 prefix, switches once. Windows hop by half their length, so any burst within half ' +
    'a window is always caught and one within a full window usually is. Evaluated for every ' +
    'window holding an event received in the run.',
  rationale:
    'A bearer token is bound to nothing but its holder. The same token from several networks at ' +
    'the same time means several holders: a stolen or leaked token in use alongside the ' +
    'legitimate client (CSF DE.CM-09: "unauthorized credential reuse"). Zero trust evaluates the ' +
    'requesting asset on every access (SP 800-207 tenet 4). Networks are compared by prefix and ' +
    "against the holder's own: a NAT pool, a worker fleet's egress range or a host's rotating " +
    'IPv6 privacy addresses are one holder on known networks, while a replay comes from a network ' +
    'the holder never used.',
  references: [REF.rfc8707s3, REF.mcpTokenTheft, REF.rfc9700s23],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI9'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'DE.AE-03'],
    nist_800_53: ['SI-4', 'AU-6', 'IA-5'],
    nist_800_207: ['tenet-4', 'tenet-7'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001', 'T1528'],
  },
  falsePositives: [
    "A user going back and forth between a usual network and one never used in `learnDays` (Wi-Fi and a carrier's CGNAT address in a new /24; a dual-stack host alternating IPv4 and IPv6 just after its ISP renumbered the IPv6 prefix) while one token is in use.",
    'Not raised for a single move or prefix rotation (one switch), nor for networks that are all usual (a NAT pool, a fleet across known egress ranges).',
    "A fleet's egress gaining an address outside the prefixes it used before (a new NAT gateway): one finding, then the network is usual.",
    "A client-credentials fleet sharing one token across three or more prefixes on its first day: one finding, its first token's (its later tokens' networks are usual).",
    "Replay from one other network after the holder stopped using the token (no turns) is not this rule's to see: it looks like a move.",
  ],
  runbook: [
    'List the addresses in the evidence (`ips`, `new_sources` of them on networks the holder never used) and the user agents of the token timeline; look for an unexpected network or country.',
    'If a source is unknown, revoke the token and its grant, and find where the token leaked (logs, tool output, a server).',
    'If the spread is legitimate, add an exception scoped to the client with an owner and expiry.',
  ],
  params,
  dedupKey: ['token_key', 'client_id'],
  dedupWindowS: 3600,
  sql: 'token-multi-source',
  queryParams: (p) => ({
    min_sources: p.minSources,
    in_turn: p.inTurn ? 1 : 0,
    tolerance_ms: p.toleranceS * 1000,
    learn_s: Math.round(p.learnDays * 86_400),
    established_ms: Math.round(p.establishedHours * 3_600_000),
    hop_ms: Math.max(1, Math.floor((p.windowS * 1000) / 2)),
    ipv4_cut: (32 - p.ipv4PrefixLength) / 8,
    ipv6_cut: (128 - p.ipv6PrefixLength) / 8,
    lookback_s: p.windowS + p.maxLatenessS,
    max_results: p.maxResults,
  }),
  toDetection(row, ctx) {
    return {
      tenant: String(row.tenant),
      keys: { token_key: String(row.token_key), client_id: String(row.client_id) },
      evidence: {
        sources: Number(row.max_sources),
        new_sources: Number(row.new_sources),
        usual_networks: Number(row.usual_networks),
        in_turn: Number(row.in_turn) === 1,
        ips: row.ips,
        resources: row.resources,
        first_seen: row.first_occurred,
        last_seen: row.last_occurred,
        window_s: ctx.params.windowS,
        prefixes: { ipv4: ctx.params.ipv4PrefixLength, ipv6: ctx.params.ipv6PrefixLength },
      },
      eventIds: row.event_ids as string[],
      at: rowTime(String(row.last_occurred)),
    }
  },
  examples: [
    {
      name: 'one token from three networks within a minute',
      fires: true,
      events: [from('203.0.113.7', 0), from('198.51.100.20', 20), from('192.0.2.99', 50)],
    },
    {
      name: "a user's token replayed from one other network between the user's own requests",
      fires: true,
      events: [
        ...history(['203.0.113.7']),
        from('203.0.113.7', 0),
        from('198.51.100.20', 20),
        from('203.0.113.7', 40),
      ],
    },
    {
      name: 'a user moving from a usual network to a new one, once',
      fires: false,
      events: [
        ...history(['203.0.113.7']),
        from('203.0.113.7', 0),
        from('203.0.113.7', 30),
        from('198.51.100.20', 35),
        from('198.51.100.20', 90),
      ],
    },
    {
      name: 'a fleet token shared by workers behind a NAT pool of four addresses',
      fires: false,
      events: [
        from('203.0.113.7', 0, 'at-1', FLEET),
        from('203.0.113.8', 5, 'at-1', FLEET),
        from('203.0.113.9', 10, 'at-1', FLEET),
        from('203.0.113.10', 15, 'at-1', FLEET),
      ],
    },
    {
      name: 'a fleet whose egress spans three prefixes it used before',
      fires: false,
      events: [
        ...history(['203.0.113.7', '198.51.100.20', '192.0.2.99'], FLEET),
        from('203.0.113.7', 0, 'at-1', FLEET),
        from('198.51.100.20', 5, 'at-1', FLEET),
        from('192.0.2.99', 10, 'at-1', FLEET),
      ],
    },
    {
      name: "a day-one fleet's first token taking turns on its NAT gateway's two /24s",
      fires: false,
      events: [
        from('203.0.113.7', 0, 'at-1', FLEET),
        from('198.51.100.20', 20, 'at-1', FLEET),
        from('203.0.113.7', 40, 'at-1', FLEET),
      ],
    },
    {
      name: "a day-one fleet's second token shared across the three prefixes its first one used",
      fires: false,
      events: [
        // The first token from one zone at a time (no window with two networks), ...
        from('203.0.113.7', 0, 'at-1', FLEET),
        from('198.51.100.20', 400, 'at-1', FLEET),
        from('192.0.2.99', 800, 'at-1', FLEET),
        // ... the next one from all three at once, an hour after the fleet's first request.
        from('203.0.113.7', 3600, 'at-2', FLEET),
        from('198.51.100.20', 3605, 'at-2', FLEET),
        from('192.0.2.99', 3610, 'at-2', FLEET),
      ],
    },
    {
      name: 'the same fleet token replayed from a network the fleet never used',
      fires: true,
      events: [
        ...history(['203.0.113.7', '198.51.100.20'], FLEET),
        from('203.0.113.7', 0, 'at-1', FLEET),
        from('198.51.100.20', 5, 'at-1', FLEET),
        from('100.64.9.1', 10, 'at-1', FLEET),
      ],
    },
    {
      name: 'a day-one user taking turns on two networks (no usual network yet)',
      fires: false,
      events: [from('203.0.113.7', 0), from('198.51.100.20', 20), from('203.0.113.7', 40)],
    },
    {
      name: 'IPv6 addresses of one site that change their /64 within its /56',
      fires: false,
      events: [
        from('2001:db8:0:1::1', 0),
        from('2001:db8:0:2::9', 20),
        from('2001:db8:0:3::5', 40),
      ],
    },
    {
      name: 'one token from one address, many times',
      fires: false,
      events: [from('203.0.113.7', 0), from('203.0.113.7', 20), from('203.0.113.7', 50)],
    },
    {
      name: 'IPv6 privacy addresses of one /64',
      fires: false,
      events: [from('2001:db8::1', 0), from('2001:db8::2', 20), from('2001:db8::3', 40)],
    },
    {
      name: 'three networks hours apart',
      fires: false,
      events: [from('203.0.113.7', 0), from('198.51.100.20', 3600), from('192.0.2.99', 7200)],
    },
    {
      name: 'separate tokens from separate networks',
      fires: false,
      events: [
        from('203.0.113.7', 0, 'at-1'),
        from('198.51.100.20', 10, 'at-2'),
        from('192.0.2.99', 20, 'at-3'),
      ],
    },
  ],
}
