/**
 * GET /v1/sender-constraint: per client and per resource, the bound-token and proof-verified
 * shares over a period, equal to the ground truth of the stored events; viewer role, one tenant.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, at, exampleEvents, MCP, token } from '../../src/detection/rules/lib/example-events.js'
import { JKT, validProof } from '../../src/detection/rules/lib/sender-constraint.js'
import { assertEvent } from '../../src/events/parse.js'
import { toEventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('api_sender_constraint')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>
const PERIOD = `since=${encodeURIComponent(at(-60))}&until=${encodeURIComponent(at(60))}`

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  const ev = exampleEvents('sender-constraint-api')
  const bound = (jti: string) => token({ jti, aud: [MCP], cnf: { jkt: JKT } })
  const events = [
    // agent-7: a DPoP-bound token used twice with proofs and once as a bearer token (accepted),
    // and a bearer token at the API.
    ev.issued({ token: bound('at-1') }),
    ev.presented({ occurred_at: at(5), token: bound('at-1'), proof: validProof(5) }),
    ev.presented({ occurred_at: at(6), token: bound('at-1'), proof: validProof(6) }),
    ev.presented({
      occurred_at: at(7),
      token: bound('at-1'),
      proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
    }),
    ev.presented({
      occurred_at: at(8),
      token: token({ jti: 'at-2', aud: [API] }),
      resource: API,
      presented_aud: [API],
      proof: { scheme: 'Bearer', verdict: 'absent' },
    }),
    // Another tenant, all bound: it must not show.
    ev.presented({
      tenant: 'globex',
      occurred_at: at(9),
      token: bound('at-9'),
      proof: validProof(9),
    }),
    // Outside the period.
    ev.presented({ occurred_at: at(3600), token: token({ jti: 'at-late' }) }),
  ].map((e) => toEventRow(assertEvent(e), { receivedAt: Date.parse(at(20)) }))
  await insertEventRows(storage, events)
  keys = await apiKeys()
  app = await testApp(keys, { storage })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

async function get(query: string, claims: { roles?: string[]; tenant?: string } = {}) {
  const bearer = await keys.token({ roles: ['viewer'], tenant: 'acme', ...claims })
  return app.inject({
    method: 'GET',
    url: `/v1/sender-constraint?${query}`,
    headers: { authorization: `Bearer ${bearer}` },
  })
}

describe('GET /v1/sender-constraint', () => {
  it("answers the tenant's bound and proven shares per client and per resource", async () => {
    const res = await get(PERIOD)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      tenant: 'acme',
      since: at(-60),
      until: at(60),
      clients: [
        {
          client_id: 'agent-7',
          tokens: 2,
          bound_tokens: 1,
          bound_share: 0.5,
          presentations: 4,
          proven_presentations: 2,
          proven_share: 0.5,
        },
      ],
      resources: [
        {
          resource: API,
          tokens: 1,
          bound_tokens: 0,
          bound_share: 0,
          presentations: 1,
          proven_presentations: 0,
          proven_share: 0,
        },
        {
          resource: MCP,
          tokens: 1,
          bound_tokens: 1,
          bound_share: 1,
          presentations: 3,
          proven_presentations: 2,
          proven_share: 0.6667,
        },
      ],
      truncated: false,
    })
  })

  it("shows another tenant's caller only that tenant, whatever tenant it asks for", async () => {
    const res = await get(`${PERIOD}&tenant=acme`, { tenant: 'globex' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.tenant).toBe('globex')
    expect(body.clients.map((c: { client_id: string }) => c.client_id)).toEqual(['agent-7'])
    expect(body.clients[0]).toMatchObject({ tokens: 1, bound_tokens: 1, proven_share: 1 })
  })

  it('answers a period without events with no rows', async () => {
    const res = await get('since=2020-01-01&until=2020-01-02')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ clients: [], resources: [], truncated: false })
  })

  it('refuses a reversed period, a malformed time and an unknown parameter with 400', async () => {
    for (const query of [
      `since=${encodeURIComponent(at(60))}&until=${encodeURIComponent(at(-60))}`,
      'since=yesterday',
      `${PERIOD}&client=agent-7`,
    ]) {
      const res = await get(query)
      expect(res.statusCode, query).toBe(400)
      expect(res.json().code).toMatch(/^ERR_/)
    }
  })

  it('needs a caller', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/sender-constraint?${PERIOD}` })
    expect(res.statusCode).toBe(401)
  })
})
