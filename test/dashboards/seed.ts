/**
 * One scenario for the dashboard tests, sent through the real pipeline (validation,
 * canonicalization, ClickHouse sink, streaming detector, scheduled rules) for two tenants, plus a
 * redelivered event written past the sink's deduplication, as two racing consumers could.
 * Returns what was seeded so that tests derive their expectations from it.
 */
import { randomUUID } from 'node:crypto'
import { createStreamingDetector } from '../../src/detection/engine.js'
import { CERT, JKT } from '../../src/detection/rules/lib/sender-constraint.js'
import { createFindingsStore, setTriage } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { runScheduledRules } from '../../src/detection/scheduler.js'
import { createLogger } from '../../src/logger.js'
import { ingest, sinkTarget } from '../../src/pipeline/ingest.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'
import { toDateTime64, type EventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { presentedEvent } from '../helpers/events.js'

export const MCP = 'https://mcp.example.com/mcp'
export const MCP_SLASH = 'https://mcp.example.com/mcp/'
export const MCP_B = 'https://tools.example.com/mcp'
export const API = 'https://api.example.com'

type Event = Record<string, unknown>

export interface SeededTenant {
  /** ids of the events the pipeline accepted */
  eventIds: string[]
  /** the contract events sent (all valid) */
  events: Event[]
  presented: Event[]
  /** exp - iat of each distinct token that carries both */
  lifetimes: number[]
  mismatchEventId: string
  replayedToken: string
  multiAudienceToken: string
  expiredToken: string
  clientWithoutIndicator: string
  /** an anonymous authorization request, written a second time past the sink */
  redeliveredEventId: string
}

export interface Scenario {
  from: Date
  to: Date
  acme: SeededTenant
  globex: SeededTenant
  /** the finding triaged as acknowledged */
  acknowledgedFinding: string
}

const AS_SOURCE = { kind: 'authorization_server', id: 'as-1' }

function issuedEvent(
  tenant: string,
  at: number,
  client: string,
  jti: string,
  resources: string[],
  aud: string[],
) {
  const iat = Math.floor(at / 1000)
  return {
    schema_version: 1,
    tenant,
    event_id: randomUUID(),
    event_type: 'token.issued',
    occurred_at: new Date(at).toISOString(),
    source: AS_SOURCE,
    issuer: 'https://as.example.com',
    client_id: client,
    subject: 'user-42',
    token: { jti, iat, exp: iat + (resources.length === 0 ? 7200 : 3600), aud, format: 'jwt' },
    grant_type: 'authorization_code',
    requested_resources: resources,
    granted_aud: aud,
    requested_scopes: ['files:read'],
    granted_scopes: ['files:read'],
  }
}

function tenantEvents(tenant: string, t0: number) {
  const agent = `${tenant}-agent`
  const legacy = `${tenant}-legacy-client`
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString()
  const token = (jti: string, aud: string[], iatMs: number, lifetimeS = 3600) => {
    const iat = Math.floor(iatMs / 1000)
    return { jti, iat, exp: iat + lifetimeS, aud, format: 'jwt' }
  }
  const present = (minutes: number, overrides: Event) =>
    presentedEvent({ tenant, client_id: agent, occurred_at: at(minutes), ...overrides })
  const good = `${tenant}-good`
  const dpopToken = { ...token(`${tenant}-dpop`, [MCP], t0), cnf: { jkt: JKT } }
  const presented: Event[] = [
    // Ordinary use of a token bound to the MCP server, three tool calls.
    ...['read_file', 'read_file', 'write_file'].map((name, i) =>
      present(1 + i, {
        token: token(good, [MCP], t0),
        resource: MCP,
        presented_aud: [MCP],
        tool: { method: 'tools/call', name },
      }),
    ),
    // A token minted for the API, accepted by the MCP server without checking aud.
    present(5, {
      token: token(`${tenant}-stolen`, [API], t0),
      resource: MCP,
      presented_aud: [API],
      aud_validated: false,
    }),
    // The same kind of token rejected: an attempt.
    present(6, {
      token: token(`${tenant}-attempt`, [API], t0),
      resource: MCP,
      presented_aud: [API],
      decision: 'rejected',
      reason: 'aud_mismatch',
    }),
    // One token at two resources, the second outside its audience and accepted there.
    ...[MCP, MCP_B].map((resource, i) =>
      present(7 + i, {
        token: token(`${tenant}-replayed`, [MCP], t0),
        resource,
        presented_aud: [MCP],
        tool: { method: 'tools/list' },
      }),
    ),
    // Trailing-slash drift in the RS configuration.
    present(10, {
      token: token(`${tenant}-drift`, [MCP], t0),
      resource: MCP_SLASH,
      presented_aud: [MCP],
    }),
    // Accepted more than half an hour after expiry.
    present(12, {
      token: token(`${tenant}-expired`, [MCP], t0 - 80 * 60_000),
      resource: MCP,
      presented_aud: [MCP],
    }),
    // Sender-constrained (issue 27): a DPoP-bound token with a valid proof, then sent as Bearer
    // and accepted (observe mode: bound-token-downgrade); a certificate-bound token with its
    // certificate. The presentations above carry no proof facts.
    present(13, {
      token: dpopToken,
      resource: MCP,
      presented_aud: [MCP],
      proof: { scheme: 'DPoP', verdict: 'valid', jkt: JKT, htm: 'POST', htu: MCP },
    }),
    present(14, {
      token: dpopToken,
      resource: MCP,
      presented_aud: [MCP],
      proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
    }),
    present(15, {
      token: { ...token(`${tenant}-mtls`, [MCP], t0), cnf: { 'x5t#S256': CERT } },
      resource: MCP,
      presented_aud: [MCP],
      proof: { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: CERT },
    }),
    // A DPoP-bound token at a collector that records no proof facts: unproven, not a downgrade.
    present(16, {
      token: { ...token(`${tenant}-dpop-unrecorded`, [MCP], t0), cnf: { jkt: JKT } },
      resource: MCP,
      presented_aud: [MCP],
    }),
  ]
  const issued = [
    issuedEvent(tenant, t0, agent, good, [MCP], [MCP]),
    issuedEvent(tenant, t0 + 60_000, agent, `${tenant}-multi`, [MCP, MCP_B], [MCP, MCP_B]),
    issuedEvent(tenant, t0 + 120_000, legacy, `${tenant}-legacy`, [], [API]),
  ]
  const authorization = {
    schema_version: 1,
    tenant,
    event_id: randomUUID(),
    event_type: 'authorization.requested',
    occurred_at: at(0),
    source: AS_SOURCE,
    client_id: legacy,
    requested_resources: [],
    requested_scopes: ['files:read'],
  }
  // No client id and no resource: the rollups never see it, so its redelivery (below) tests the
  // deduplication of the panels that read events, and only theirs.
  const anonymous = { ...authorization, event_id: randomUUID(), client_id: undefined }
  return {
    presented,
    events: [authorization, anonymous, ...issued, ...presented],
    legacy,
    redelivered: anonymous.event_id,
  }
}

function lifetimes(events: readonly Event[]): number[] {
  const byToken = new Map<string, number>()
  for (const e of events) {
    const t = e.token as { jti?: string; iat?: number; exp?: number } | undefined
    if (t?.jti && t.iat !== undefined && t.exp !== undefined)
      byToken.set(t.jti, Math.max(byToken.get(t.jti) ?? -Infinity, t.exp - t.iat))
  }
  return [...byToken.values()]
}

export async function seedScenario(storage: ClickHouseStorage): Promise<Scenario> {
  const now = Date.now()
  const t0 = now - 45 * 60_000
  const sink = createClickHouseSink(storage)
  const store = createFindingsStore(storage)
  const logger = createLogger('silent')
  const detector = createStreamingDetector({ rules: RULES, store, logger })
  const rows: EventRow[] = []
  const seeded: Partial<Record<'acme' | 'globex', SeededTenant>> = {}
  for (const tenant of ['acme', 'globex'] as const) {
    const { presented, events, legacy, redelivered } = tenantEvents(tenant, t0)
    const invalid = { schema_version: 1, event_type: 'token.presented', tenant }
    const results = await ingest(
      [...events, invalid].map((value) => ({ value })),
      { requestId: `dashboards-${tenant}`, receivedAt: Date.now(), retentionDays: 400, tenant },
      {
        async write(accepted, rejected) {
          rows.push(...accepted.filter((a) => a.row.tenant === tenant).map((a) => a.row))
          await sinkTarget(sink, detector).write(accepted, rejected)
        },
      },
    )
    const refused = results.filter((r) => r.status === 'rejected')
    if (refused.length !== 1) throw new Error(`unexpected rejections: ${JSON.stringify(refused)}`)
    const id = (e: Event) => e.event_id as string
    seeded[tenant] = {
      eventIds: results.flatMap((r) => (r.status === 'accepted' ? [r.event_id] : [])),
      events,
      presented,
      lifetimes: lifetimes(events),
      mismatchEventId: id(presented[3]!),
      replayedToken: `${tenant}-replayed`,
      multiAudienceToken: `${tenant}-multi`,
      expiredToken: `${tenant}-expired`,
      clientWithoutIndicator: legacy,
      redeliveredEventId: redelivered,
    }
  }
  // A redelivery the sink did not see: the same event again, received later.
  const first = rows.find((r) => r.event_id === seeded.acme!.redeliveredEventId)!
  await insertEventRows(storage, [{ ...first, received_at: toDateTime64(Date.now() + 1000) }])
  await runScheduledRules(
    { storage, rules: RULES, store, logger, latenessMs: 0, initialLookbackMs: 3 * 3_600_000 },
    Date.now() + 1,
  )
  const rs = await storage.client.query({
    query: `SELECT finding_id FROM ${storage.database}.findings FINAL WHERE tenant = 'acme' AND rule_id = 'aud-mismatch-rejected'`,
    format: 'JSONEachRow',
  })
  const [acknowledged] = await rs.json<{ finding_id: string }>()
  if (!acknowledged) throw new Error('the scenario raised no aud-mismatch-rejected finding')
  await setTriage(storage, 'acme', acknowledged.finding_id, { status: 'acknowledged', by: 'test' })
  return {
    from: new Date(now - 2 * 3_600_000),
    to: new Date(now + 5 * 60_000),
    acme: seeded.acme!,
    globex: seeded.globex!,
    acknowledgedFinding: acknowledged.finding_id,
  }
}
