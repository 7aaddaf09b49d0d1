/** token-multi-source: one token key used from several networks within a short window. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { rowTime } from '../token-state.js'
import { exampleEvents, at, token } from './lib/example-events.js'
import { REF } from './lib/references.js'

const params = z.object({
  minSources: z.number().int().min(2).default(3).describe('distinct networks that make a finding'),
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
    .default(32)
    .describe('IPv4 addresses are compared by this prefix (bits, multiple of 8)'),
  ipv6PrefixLength: z
    .number()
    .int()
    .min(8)
    .max(128)
    .multipleOf(8)
    .default(64)
    .describe(
      "IPv6 addresses are compared by this prefix (bits, multiple of 8): /64 is one host's privacy addresses",
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
const from = (ip: string, seconds: number, jti = 'at-1') =>
  ev.presented({ occurred_at: at(seconds), network: { ip }, token: token({ jti }) })

export const tokenMultiSource: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'token-multi-source',
  title: 'Token used from several networks at once',
  severity: 'high',
  description:
    'One token key was presented from at least `minSources` distinct networks (addresses cut to ' +
    '`ipv4PrefixLength` / `ipv6PrefixLength`) within one window of `windowS` seconds. Windows hop ' +
    'by half their length, so any burst within half a window is always caught and one within a ' +
    'full window usually is. Evaluated for every window holding an event received in the run.',
  rationale:
    'A bearer token is bound to nothing but its holder. The same token from several networks at ' +
    'the same time means several holders: a stolen or leaked token in use alongside the ' +
    'legitimate client (CSF DE.CM-09: "unauthorized credential reuse"). Zero trust evaluates the ' +
    'requesting asset on every access (SP 800-207 tenet 4).',
  references: [REF.rfc8707s3, REF.mcpTokenTheft, REF.rfc9700s23],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI9'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'DE.AE-03'],
    nist_800_53: ['SI-4', 'AU-6', 'IA-5'],
    nist_800_207: ['tenet-4', 'tenet-7'],
    mitre: ['T1550.001', 'T1528'],
  },
  falsePositives: [
    'Clients behind a NAT pool or a rotating egress proxy: widen `ipv4PrefixLength` or add an exception for the client.',
    'A mobile client moving between networks (usually two sources, below the default).',
    'A serverless client whose instances share one token.',
  ],
  runbook: [
    'List the addresses in the evidence and the user agents of the token timeline; look for an unexpected network or country.',
    'If a source is unknown, revoke the token and its grant, and find where the token leaked (logs, tool output, a server).',
    'If the spread is legitimate, add an exception scoped to the client with an owner and expiry.',
  ],
  params,
  dedupKey: ['token_key', 'client_id'],
  dedupWindowS: 3600,
  sql: 'token-multi-source',
  queryParams: (p) => ({
    min_sources: p.minSources,
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
        ips: row.ips,
        resources: row.resources,
        first_seen: row.first_occurred,
        last_seen: row.last_occurred,
        window_s: ctx.params.windowS,
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
