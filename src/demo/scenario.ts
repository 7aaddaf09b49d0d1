/**
 * The demo's cast and script: resource identifiers, the agent's client, and for every attack the
 * rule ids (docs/spec/rule-catalog.md) it must trigger. The peers listen on loopback ephemeral ports;
 * the identifiers are the public URLs they stand for (as behind a reverse proxy), which is what the
 * AS puts in `aud` and what each resource server is configured with.
 */

export const MCP_A = 'https://mcp-a.example/mcp'
export const MCP_B = 'https://mcp-b.example/mcp'
export const API = 'https://api.example'
/** The spelling a misconfigured client uses for MCP server A: trailing-slash drift. */
export const MCP_A_DRIFTED = `${MCP_A}/`

export const AGENT = {
  id: 'demo-agent',
  secret: 'demo-agent-secret-0123456789abcdef',
  redirect: 'https://agent.example/callback',
} as const
/** The user the agent acts for in the authorization code flow. */
export const USER = 'alice'

/**
 * audtrail's own callers at the demo's AS (docs/console.md): the console's client and the analyst
 * who signs in to it (printed with the console's URL: a demo on loopback, not a secret), and the
 * machine client the emitters ingest with and the demo reads the API with. Both in tenant
 * `default`.
 */
export const AUDTRAIL_TENANT = 'default'
export const CONSOLE = {
  clientId: 'audtrail-console',
  username: 'analyst',
  password: 'audtrail-demo',
  roles: ['analyst', 'admin'],
} as const
export const MACHINE = {
  clientId: 'demo-collectors',
  secret: 'demo-collectors-secret-0123456789abcdef',
  /** ingest for the emitters, viewer for the demo's reads */
  roles: ['ingest', 'viewer'],
  /**
   * One hour: the demo's run needs minutes, and a longer lifetime is what `long-lived-token`
   * reports (its default maximum is 3600 s).
   */
  ttlS: 3600,
} as const

/** What the AS knows of each resource server (also the registry the demo hands to serve). */
export const RESOURCE_SERVERS: Record<string, { scope: string; kind: 'mcp' | 'api' }> = {
  [MCP_A]: { scope: 'tools:read tools:call', kind: 'mcp' },
  [MCP_B]: { scope: 'tools:read tools:call', kind: 'mcp' },
  [API]: { scope: 'items:read', kind: 'api' },
}

/**
 * Access token lifetimes. MCP server B's tokens live seconds, so the demo need not wait an hour
 * for the token the agent keeps in its cache to expire.
 */
export const TOKEN_TTL_S = { default: 600, [MCP_B]: 5 } as const

/** `expired-token-accepted` allows this much clock skew (its default parameter). */
export const EXPIRY_SKEW_S = 60

export interface Attack {
  id: string
  what: string
  expect: readonly string[]
}

/** Every attack the agent performs, with the findings that must follow. */
export const ATTACKS: readonly Attack[] = [
  {
    id: 'replay',
    what: "a token minted for MCP server A replayed at MCP server B (accepted), and B's at A (refused)",
    expect: [
      'cross-audience-replay',
      'aud-mismatch-accepted',
      'unvalidated-audience',
      'aud-mismatch-rejected',
    ],
  },
  {
    id: 'multi-audience',
    what: 'an authorization code flow whose token the AS widens to MCP server A and the API',
    expect: ['multi-audience-token', 'granted-aud-mismatch'],
  },
  {
    id: 'drift',
    what: `the client asks for ${MCP_A_DRIFTED} while the server is configured as ${MCP_A}`,
    expect: ['resource-uri-drift'],
  },
  {
    id: 'no-resource',
    what: 'a token request without `resource` (the AS falls back to a default audience)',
    expect: ['missing-resource-indicator'],
  },
  {
    id: 'expired',
    what: 'a cached MCP server B token used after it expired, accepted by the lax server',
    expect: ['expired-token-accepted'],
  },
  {
    id: 'spike',
    what: 'a burst of tool calls at MCP server A, far above the agent’s hourly baseline',
    expect: ['token-usage-spike'],
  },
  {
    id: 'header-mismatch',
    what: 'an Mcp-Name header that names another tool than the JSON-RPC body',
    expect: ['mcp-tool-header-mismatch'],
  },
]

export const EXPECTED_RULES: readonly string[] = [...new Set(ATTACKS.flatMap((a) => a.expect))]
