/** client-id-multiple-issuers: one client id used with two or more authorization servers. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { exampleEvents, at } from './lib/example-events.js'
import { lookbackDays, maxResults } from './lib/params.js'
import { REF } from './lib/references.js'
import { resultDetection } from './lib/scheduled.js'

const DAY_S = 86_400
const params = z.object({
  lookbackDays: lookbackDays('how far back the other issuers of a client are searched, in days'),
  ignoreUrlClientIds: z
    .boolean()
    .default(true)
    .describe(
      'leave out Client ID Metadata Document client ids (https URLs with a path), which MCP makes portable across authorization servers',
    ),
  includePresentations: z
    .boolean()
    .default(false)
    .describe(
      "also count the issuer of presented tokens (the RS collector's view), not only AS events",
    ),
  maxResults: maxResults(),
})
const ev = exampleEvents('client-id-multiple-issuers')
const OTHER_AS = 'https://login.partner.example'

export const clientIdMultipleIssuers: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'client-id-multiple-issuers',
  title: 'One client id used at two authorization servers',
  severity: 'medium',
  description:
    'A client id appeared in authorization or token events of two or more issuers (compared ' +
    'without a trailing slash) within `lookbackDays`. Client ID Metadata Document URLs are left ' +
    'out by default (portable by design). Reported for every client with an event in the window; ' +
    'the finding is one per client and issuer set.',
  rationale:
    'The current MCP revision binds client credentials to the authorization server that issued ' +
    'them: clients MUST key them by issuer and MUST NOT reuse them with a different authorization ' +
    'server, but re-register when protected resource metadata names a new one. A pre-registered ' +
    'or dynamically registered client id showing up at a second issuer is a client presenting ' +
    'credentials where they were never issued (a mix-up or a malicious authorization server ' +
    'collecting them), or a collision of identifiers that makes per-client audit ambiguous.',
  references: [REF.mcp2026AsBinding, REF.mcpTokenTheft],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI9'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-01', 'DE.CM-09'],
    nist_800_53: ['IA-5', 'SI-4'],
    nist_800_207: ['tenet-6'],
    mcp_2026_07_28: ['mcp-authz/authorization-server-binding'],
    mitre: ['T1528'],
  },
  falsePositives: [
    'Two authorization servers that assign the same id to different clients by coincidence (short, human-chosen ids such as `web`).',
    'One authorization server known under two issuer identifiers (a migration to a new host): the issuers in the evidence are then spellings of one server.',
  ],
  runbook: [
    'Read `issuers` and `per_issuer`: which issuer came first, and which one the client moved to.',
    'Ask the client owner whether it re-registered with the new authorization server; if it reused the old credentials, rotate them and re-register.',
    'If the second issuer is unknown, treat it as a mix-up or credential-harvesting attempt: check the resource metadata the client followed (RFC 9728).',
  ],
  params,
  dedupKey: ['client_id', 'issuers'],
  dedupWindowS: 30 * DAY_S,
  sql: 'client-id-multiple-issuers',
  queryParams: (p) => ({
    lookback_s: p.lookbackDays * DAY_S,
    ignore_url_client_ids: p.ignoreUrlClientIds ? 1 : 0,
    include_presented: p.includePresentations ? 1 : 0,
    max_results: p.maxResults,
  }),
  toDetection(row) {
    const issuers = row.issuers as string[]
    return resultDetection(
      row,
      'latest',
      { client_id: String(row.client_id), issuers: issuers.join(' ') },
      { issuers, per_issuer: row.per_issuer },
    )
  },
  examples: [
    {
      name: 'a pre-registered client id reused at another authorization server',
      fires: true,
      events: [
        ev.issued(),
        ev.authorization({ occurred_at: at(3600), issuer: OTHER_AS }),
        ev.issued({ occurred_at: at(3610), issuer: OTHER_AS, token: { jti: 'at-2' } }),
      ],
    },
    {
      name: 'a Client ID Metadata Document URL used at two authorization servers',
      fires: false,
      events: [
        ev.issued({ client_id: 'https://app.example.com/oauth/client.json' }),
        ev.issued({
          occurred_at: at(3600),
          issuer: OTHER_AS,
          client_id: 'https://app.example.com/oauth/client.json',
          token: { jti: 'at-2' },
        }),
      ],
    },
    {
      name: 'one issuer spelled with and without a trailing slash',
      fires: false,
      events: [ev.issued(), ev.issued({ occurred_at: at(60), issuer: 'https://as.example.com/' })],
    },
    {
      name: 'two clients, each at its own authorization server',
      fires: false,
      events: [
        ev.issued(),
        ev.issued({
          occurred_at: at(60),
          issuer: OTHER_AS,
          client_id: 'agent-8',
          token: { jti: 'at-2' },
        }),
      ],
    },
  ],
}
