/**
 * The simulated agent: an MCP SDK client that gets its tokens from the demo AS, does its normal
 * work, then performs every attack of the scenario for real against the peers. Each step reports
 * what the servers answered; the findings are audtrail's business, not the agent's.
 */
import { clientCredentials, authorizationCode, type IssuedToken } from './oauth.js'
import { mcpSession, sep2243Fetch, type SessionOutcome, type ToolCall } from './mcp-client.js'
import type { Peers } from './peers.js'
import { API, EXPIRY_SKEW_S, MCP_A, MCP_A_DRIFTED, MCP_B } from './scenario.js'

/** Tool calls of the burst (the spike): a few times the agent's hourly median of about 40. */
export const SPIKE_CALLS = 120

const READ: ToolCall = { name: 'read_file', arguments: { path: 'notes/plan.md' } }
const WHOAMI: ToolCall = { name: 'whoami' }

export type Say = (step: string, result: string) => void

function outcome(o: SessionOutcome): string {
  return o.ok ? `accepted (${o.calls} tool call(s))` : `refused (${o.error})`
}

async function getItems(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/items`, { headers: { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  return res.ok ? `accepted (HTTP ${res.status})` : `refused (HTTP ${res.status})`
}

/** The token the agent caches at start-up and, by mistake, uses again after it expired. */
export function cacheStaleToken(peers: Peers): Promise<IssuedToken> {
  return clientCredentials(peers.as.issuer, 'tools:call', MCP_B)
}

export async function benignTraffic(peers: Peers, say: Say): Promise<IssuedToken> {
  const { issuer } = peers.as
  const a = await clientCredentials(issuer, 'tools:call', MCP_A)
  say(
    'MCP server A, its own token',
    outcome(await mcpSession(peers.mcpA.url, a.accessToken, [READ, WHOAMI])),
  )
  const b = await clientCredentials(issuer, 'tools:call', MCP_B)
  say(
    'MCP server B, its own token',
    outcome(await mcpSession(peers.mcpB.url, b.accessToken, [READ])),
  )
  const api = await clientCredentials(issuer, 'items:read', API)
  say('the API, its own token', await getItems(peers.api.url, api.accessToken))
  return a
}

/** Every attack but the expired token (which needs time to pass: see `useExpiredToken`). */
export async function attacks(peers: Peers, tokenA: IssuedToken, say: Say): Promise<void> {
  const { issuer } = peers.as
  const a = tokenA.accessToken
  say('replay: A’s token at MCP server B', outcome(await mcpSession(peers.mcpB.url, a, [READ])))
  const b = await clientCredentials(issuer, 'tools:call', MCP_B)
  say(
    'replay: B’s token at MCP server A',
    outcome(await mcpSession(peers.mcpA.url, b.accessToken, [READ])),
  )

  const wide = await authorizationCode(issuer, 'openid tools:call', MCP_A)
  say(
    'multi-audience: code flow token at A',
    outcome(await mcpSession(peers.mcpA.url, wide.accessToken, [WHOAMI])),
  )
  say('multi-audience: the same token at the API', await getItems(peers.api.url, wide.accessToken))

  const drifted = await clientCredentials(issuer, 'tools:call', MCP_A_DRIFTED)
  say(
    `drift: token for ${MCP_A_DRIFTED} at A`,
    outcome(await mcpSession(peers.mcpA.url, drifted.accessToken, [READ])),
  )

  const unbound = await clientCredentials(issuer, 'items:read')
  say('no resource: defaulted token at the API', await getItems(peers.api.url, unbound.accessToken))

  const lie = await mcpSession(
    peers.mcpA.url,
    a,
    [{ name: 'delete_file', arguments: { path: 'notes/plan.md' } }],
    sep2243Fetch('read_file'),
  )
  say('header mismatch: delete_file sent as Mcp-Name read_file', outcome(lie))

  const burst = Array.from({ length: SPIKE_CALLS }, () => READ)
  say(
    `spike: ${SPIKE_CALLS} calls at A in one burst`,
    outcome(await mcpSession(peers.mcpA.url, a, burst)),
  )
}

/** Waits until the cached token is past `exp` by more than the rule's skew, then uses it at B. */
export async function useExpiredToken(
  peers: Peers,
  stale: IssuedToken,
  say: Say,
  wait: (ms: number) => Promise<void>,
): Promise<void> {
  const due = (stale.expiresAt + EXPIRY_SKEW_S + 2) * 1000
  await wait(Math.max(0, due - Date.now()))
  const late = Math.round(Date.now() / 1000 - stale.expiresAt)
  say(
    `expired: cached B token, ${late} s past exp, at B`,
    outcome(await mcpSession(peers.mcpB.url, stale.accessToken, [READ])),
  )
}
