/**
 * token-passthrough: an MCP server passed the token it received on to a downstream API (the token
 * shows up there from the server's side, not the client's), with no token exchange between them.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import { z } from 'zod'
import { canonicalizeResource } from '../../events/resource.js'
import type { EventRow } from '../../events/event-row.js'
import type { ResourceRegistry } from '../../resource-registry.js'
import type { Detection, EventRule } from '../rule.js'
import { rowTime, type Presentation, type TokenState } from '../token-state.js'
import { exampleEvents, API, MCP, at, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { outsideAudience, registryEntry } from './lib/resources.js'
import { detect, isPresentation, presentationEvidence } from './lib/rows.js'

const params = z.object({
  inferFromNetwork: z
    .boolean()
    .default(false)
    .describe(
      "without a configured identity for the server (serverAddresses, serverUserAgents): count a use from a network the client never used at the server, within windowS of the server accepting the token, as the server's. Off by default: from the network alone it cannot be told apart from a third party replaying a stolen token (cross-audience-replay, token-multi-source)",
    ),
  windowS: z
    .number()
    .int()
    .positive()
    .default(300)
    .describe(
      'without configured server addresses: the downstream use must follow an accepted use at the MCP server within this many seconds',
    ),
  clientPrefixV4: z
    .number()
    .int()
    .min(8)
    .max(32)
    .default(24)
    .describe('IPv4 prefix length within which two addresses count as the same client network'),
  clientPrefixV6: z
    .number()
    .int()
    .min(16)
    .max(128)
    .default(56)
    .describe('IPv6 prefix length within which two addresses count as the same client network'),
  serverAddresses: z
    .record(z.string().min(1).max(2048), z.array(z.string().min(1).max(64)).max(64))
    .default({})
    .describe(
      'per MCP server resource: the addresses or CIDR prefixes it calls out from; when given for a server, only a use from them is its passthrough',
    ),
  serverUserAgents: z
    .record(z.string().min(1).max(2048), z.array(z.string().min(1).max(256)).max(16))
    .default({})
    .describe(
      "per MCP server resource: text its outbound HTTP client puts in User-Agent (its identity); a use whose user agent contains one is the server's",
    ),
})
type Params = z.output<typeof params>
const ev = exampleEvents('token-passthrough')
const SERVER_IP = '198.51.100.20'
/** Example: the token presented at the API `seconds` in, from `network`, refused for its audience. */
const refusedAtApi = (seconds: number, network: object = { ip: SERVER_IP }, o: object = {}) =>
  ev.presented({
    occurred_at: at(seconds),
    source: { kind: 'resource_server', id: 'api' },
    resource: API,
    decision: 'rejected',
    reason: 'aud_mismatch',
    network,
    ...o,
  })

/** The network an address belongs to, at the configured prefix, as `addr/len` text. */
function networkOf(ip: string, p: Params): string | undefined {
  if (isIPv4(ip)) {
    const n = ip.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0
    const mask = p.clientPrefixV4 === 32 ? 0xffffffff : (~0 << (32 - p.clientPrefixV4)) >>> 0
    return `${(n & mask) >>> 0}/${p.clientPrefixV4}`
  }
  if (isIPv6(ip)) {
    // Expand to 8 groups, keep the prefix bits.
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined]
    const h = head ? head.split(':') : []
    const t = tail ? tail.split(':') : []
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) =>
      parseInt(g || '0', 16),
    )
    let bits = ''
    for (const g of groups) bits += g.toString(2).padStart(16, '0')
    return `${bits.slice(0, p.clientPrefixV6)}/${p.clientPrefixV6}`
  }
  return undefined
}

function inList(ip: string, list: readonly string[]): boolean {
  const blocks = new BlockList()
  for (const entry of list) {
    const [addr, len] = entry.split('/')
    const type = isIPv6(addr!) ? 'ipv6' : isIPv4(addr!) ? 'ipv4' : undefined
    if (type === undefined) continue
    if (len === undefined) blocks.addAddress(addr!, type)
    else blocks.addSubnet(addr!, Number(len), type)
  }
  const type = isIPv6(ip) ? 'ipv6' : isIPv4(ip) ? 'ipv4' : undefined
  return type !== undefined && blocks.check(ip, type)
}

interface Verdict {
  server: Presentation
  basis: 'server_address' | 'server_user_agent' | 'other_network_after_server_use'
}

/** A configured list, by canonical resource. */
function configured<T>(map: Record<string, T>, resource: string): T | undefined {
  for (const [r, value] of Object.entries(map))
    if (canonicalizeResource(r).canonical === resource) return value
  return undefined
}

/** A use of the token outside its audience: where from, with which user agents, when. */
interface Use {
  ips: readonly string[]
  userAgents: readonly string[]
  firstSeen: number
  lastSeen: number
}

/**
 * Whether `use` was the in-audience `server` passing the token on, and on what evidence. The
 * use's addresses the client itself used at the server are left out (a client replaying its own
 * token). Times are compared both ways: a server that logs after answering records its own use
 * after its downstream call.
 */
function basisOf(use: Use, server: Presentation, p: Params): Verdict['basis'] | undefined {
  const ips = use.ips.filter((ip) => !server.ips.includes(ip))
  if (ips.length === 0) return undefined
  const agents = configured(p.serverUserAgents, server.resource)
  if (agents?.some((a) => use.userAgents.some((ua) => ua.includes(a)))) return 'server_user_agent'
  const addresses = configured(p.serverAddresses, server.resource)
  if (addresses !== undefined)
    return ips.some((ip) => inList(ip, addresses)) ? 'server_address' : undefined
  // No identity configured: only when asked to, infer it from the network. The token came from
  // a network the client never used at the server, within windowS of the server accepting it (a
  // server calling out while serving, or a third party replaying it: the network cannot say).
  if (!p.inferFromNetwork || server.ips.length === 0) return undefined
  const clientNetworks = new Set(server.ips.map((a) => networkOf(a, p)))
  const elsewhere = ips.some((ip) => {
    const here = networkOf(ip, p)
    return here !== undefined && !clientNetworks.has(here)
  })
  const window = p.windowS * 1000
  if (
    elsewhere &&
    use.lastSeen >= server.firstSeen - window &&
    use.firstSeen <= server.lastSeen + window
  )
    return 'other_network_after_server_use'
  return undefined
}

/** Which in-audience server, if any, passed the token on in this row, and on what evidence. */
function passedOnBy(row: EventRow, state: TokenState, p: Params, now: number): Verdict | undefined {
  const use: Use = {
    ips: [row.network_ip],
    userAgents: row.network_user_agent === '' ? [] : [row.network_user_agent],
    firstSeen: now,
    lastSeen: now,
  }
  for (const server of state.presentations.values()) {
    if (!server.accepted || server.resource === row.resource_canonical) continue
    const basis = basisOf(use, server, p)
    if (basis !== undefined) return { server, basis }
  }
  return undefined
}

/** The server is one of the token's audiences, and an MCP server when the registry says. */
function isAudienceServer(
  resource: string,
  state: TokenState,
  registry: ResourceRegistry | undefined,
): boolean {
  if (outsideAudience(resource, state.audience, registry)) return false
  const kind = registryEntry(resource, registry)?.kind
  return kind === undefined || kind === 'mcp'
}

export const tokenPassthrough: EventRule<typeof params> = {
  kind: 'event',
  id: 'token-passthrough',
  title: 'MCP server passed the client’s token through to a downstream API',
  severity: 'high',
  description:
    'A token whose audience is MCP server A (accepted there) was presented at a resource outside ' +
    "its audience by A itself: with a user agent configured as A's (`serverUserAgents`), from " +
    'an address configured for A (`serverAddresses`), or, only with `inferFromNetwork`, from a ' +
    'network the client never used at A within `windowS` of A accepting it (off by default: from ' +
    'the network alone a third party replaying a stolen token looks the same). No ' +
    '`token.exchanged` with this token as subject was issued for that resource. Critical when the ' +
    'downstream API accepted it. A client replaying its own token (from the network it used at A) ' +
    'is left to `cross-audience-replay`.',
  rationale:
    'MCP forbids token passthrough: the token used at an upstream API "is a separate token, issued ' +
    'by the upstream authorization server"; the MCP server "MUST NOT pass through the token it ' +
    'received". Passthrough breaks audience restriction (RFC 8707 §3), hides the server behind ' +
    "the client's identity in the API's logs, and lets anyone holding the client's token act " +
    'downstream. The legitimate path is an RFC 8693 exchange (delegation) for the downstream audience.',
  references: [
    REF.mcp2026Passthrough,
    REF.mcpPassthrough,
    REF.rfc8707s3,
    REF.rfc9728s74,
    REF.rfc8693s21,
  ],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI5', 'NHI9'],
    owasp_asi: ['ASI03', 'ASI07'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'PR.AA-04', 'PR.AA-05'],
    nist_800_53: ['SI-4', 'IA-9', 'SC-23'],
    nist_800_207: ['tenet-3', 'tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-passthrough'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'With `inferFromNetwork` and without `serverAddresses`: a client whose address moves to another network between its call to the MCP server and its own call to the API within `windowS` (a mobile client, a VPN reconnect); configure the server addresses to decide on them only.',
    'A shared egress (one NAT for the MCP server and other workloads of the same tenant): another workload replaying the token looks like the server.',
  ],
  runbook: [
    'Confirm in the evidence that `server` (the MCP server that accepted the token) is the one whose addresses the downstream use came from (`basis`).',
    "Fix the MCP server: request its own token for the downstream API (RFC 8693 token exchange, or its own client credentials) instead of forwarding the client's.",
    'Revoke the token; review what the downstream API served to it (it ran under the user’s identity, not the server’s).',
  ],
  params,
  dedupKey: ['token_key', 'server', 'resource'],
  dedupWindowS: 86_400,
  evaluate(row, state, ctx) {
    if (!isPresentation(row) || row.token_key === '' || row.resource_canonical === '') return []
    if (state === undefined || state.audience.length === 0) return []
    const here = row.resource_canonical
    const now = rowTime(row.occurred_at)
    // An exchange for the resource was issued: the server did delegate (the original token at the
    // API afterwards is a replay, which cross-audience-replay reports).
    const exchanged = (resource: string) =>
      state.exchangedFor.some((a) => !outsideAudience(resource, [a], ctx.registry))
    if (!outsideAudience(row.resource, state.audience, ctx.registry)) {
      // The server's own use, received after the downstream one (out-of-order delivery, or a
      // server that logs after answering): judge the downstream uses already seen, within
      // windowS of this one.
      if (row.decision !== 'accepted' || !isAudienceServer(here, state, ctx.registry)) return []
      const before = state.presentations.get(here)
      const server: Presentation = {
        resource: here,
        accepted: true,
        count: (before?.count ?? 0) + 1,
        firstSeen: now,
        lastSeen: now,
        eventIds: [row.event_id],
        // The client's addresses at the server: none from a use that carried none (as token state
        // keeps them), so that no network is inferred in this order either.
        ips: [...new Set([...(before?.ips ?? []), row.network_ip])].filter((ip) => ip !== ''),
        userAgents: [],
      }
      const window = ctx.params.windowS * 1000
      const found: Detection[] = []
      for (const use of state.presentations.values()) {
        if (!outsideAudience(use.resource, state.audience, ctx.registry)) continue
        if (exchanged(use.resource)) continue
        if (use.lastSeen < now - window || use.firstSeen > now + window) continue
        const basis = basisOf(use, server, ctx.params)
        if (basis === undefined) continue
        found.push(
          detect(
            row,
            { token_key: row.token_key, server: here, resource: use.resource },
            {
              audience: state.audience,
              server: here,
              basis,
              server_client_addresses: server.ips,
              server_last_accepted: new Date(now).toISOString(),
              exchanged_for: state.exchangedFor,
              accepted_downstream: use.accepted,
              downstream: {
                resource: use.resource,
                first_seen: new Date(use.firstSeen).toISOString(),
                addresses: use.ips,
                user_agents: use.userAgents,
              },
              current: presentationEvidence(row),
            },
            { severity: use.accepted ? 'critical' : 'high', eventIds: use.eventIds },
          ),
        )
      }
      return found
    }
    if (exchanged(here)) return []
    const before = state.presentations.get(here)
    const accepted = row.decision === 'accepted'
    if (before !== undefined && (before.accepted || !accepted)) return []
    const verdict = passedOnBy(row, state, ctx.params, now)
    if (verdict === undefined) return []
    const server = verdict.server
    if (!isAudienceServer(server.resource, state, ctx.registry)) return []
    const detection: Detection = detect(
      row,
      { token_key: row.token_key, server: server.resource, resource: here },
      {
        audience: state.audience,
        server: server.resource,
        basis: verdict.basis,
        server_client_addresses: server.ips,
        server_last_accepted: new Date(server.lastSeen).toISOString(),
        exchanged_for: state.exchangedFor,
        accepted_downstream: accepted,
        current: presentationEvidence(row),
      },
      { severity: accepted ? 'critical' : 'high', eventIds: server.eventIds },
    )
    return [detection]
  },
  examples: [
    {
      name: 'the MCP server forwards the client token to the API from its own address',
      fires: true,
      severity: 'critical',
      params: { serverAddresses: { [MCP]: ['198.51.100.0/24'] } },
      events: [
        ev.issued(),
        ev.presented(),
        ev.presented({
          occurred_at: at(6),
          source: { kind: 'resource_server', id: 'api' },
          resource: API,
          aud_validated: false,
          network: { ip: SERVER_IP },
        }),
      ],
    },
    {
      name: 'inferred from the network (inferFromNetwork): a new network right after the server accepted it',
      fires: true,
      severity: 'high',
      params: { inferFromNetwork: true },
      events: [ev.issued(), ev.presented(), refusedAtApi(7)],
    },
    {
      name: 'by default, with no identity configured: a new network right after the server accepted it is left to the replay rules',
      fires: false,
      events: [ev.issued(), ev.presented(), refusedAtApi(7)],
    },
    {
      name: 'the MCP server forwards it with its own user agent, from a client network',
      fires: true,
      params: { serverUserAgents: { [MCP]: ['files-mcp/'] } },
      events: [
        ev.issued(),
        ev.presented(),
        refusedAtApi(6, { ip: '203.0.113.200', user_agent: 'files-mcp/1.4 undici' }),
      ],
    },
    {
      name: 'the client replays its own token at the API from its own network',
      fires: false,
      events: [ev.issued(), ev.presented(), refusedAtApi(7, { ip: '203.0.113.99' })],
    },
    {
      name: 'a client whose IPv6 address changed within its /56 replays the token',
      fires: false,
      events: [
        ev.issued(),
        ev.presented({ network: { ip: '2001:db8:1:10::5' } }),
        refusedAtApi(7, { ip: '2001:db8:1:20:a:b:c:9' }),
      ],
    },
    {
      name: 'the server exchanged the token for the API and used the new token there',
      fires: false,
      events: [
        ev.issued(),
        ev.presented(),
        ev.exchanged({
          occurred_at: at(6),
          client_id: 'files-mcp',
          actor: { client_id: 'files-mcp' },
          network: { ip: SERVER_IP },
        }),
        ev.presented({
          occurred_at: at(7),
          source: { kind: 'resource_server', id: 'api' },
          token: token({ jti: 'at-x', aud: [API] }),
          resource: API,
          presented_aud: [API],
          network: { ip: SERVER_IP },
        }),
      ],
    },
    {
      name: 'a configured server address does not match: the use is not the server’s',
      fires: false,
      params: { serverAddresses: { [MCP]: ['192.0.2.0/24'] } },
      events: [ev.issued(), ev.presented(), refusedAtApi(7)],
    },
    {
      name: 'inferred from the network: a use from another network long after the server last accepted it',
      fires: false,
      params: { inferFromNetwork: true },
      events: [
        ev.issued({ token: token({ exp: 1_800_000_000 }) }),
        ev.presented({ token: token({ exp: 1_800_000_000 }) }),
        refusedAtApi(3600, { ip: SERVER_IP }, { token: token({ exp: 1_800_000_000 }) }),
      ],
    },
  ],
}
