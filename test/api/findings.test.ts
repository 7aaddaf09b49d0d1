import type { FastifyInstance } from 'fastify'
import { generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenExchanged, tokenIssued } from '../../src/collectors/as.js'
import { RULES } from '../../src/detection/rules/index.js'
import { parseEvent } from '../../src/events/parse.js'
import { toEventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { searchPage } from '../../src/api/routes/events.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { seedSharedKeyReplays } from '../helpers/replays.js'
import { presentedEvent } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('api_findings')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

/** Two tenants with the same token key: an accepted audience mismatch in each. */
async function seed() {
  await seedSharedKeyReplays(storage)
}

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  await seed()
  keys = await apiKeys()
  app = await testApp(keys, { storage })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

async function get(url: string, claims: { roles?: string[]; tenant?: string } = {}) {
  const token = await keys.token({ roles: ['viewer'], ...claims })
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
}

describe('GET /v1/findings', () => {
  it("returns only the caller's tenant, even for a shared token key", async () => {
    for (const tenant of ['acme', 'globex']) {
      const res = await get('/v1/findings?limit=100', { tenant })
      expect(res.statusCode).toBe(200)
      const items = res.json().items as { tenant: string; keys: Record<string, string> }[]
      expect(items.length).toBeGreaterThan(0)
      expect(new Set(items.map((i) => i.tenant))).toEqual(new Set([tenant]))
    }
    expect((await get('/v1/findings', { tenant: 'initech' })).json()).toEqual({
      items: [],
      next_cursor: null,
      total: { value: 0, exact: true },
    })
  })

  it('filters by rule and severity and pages with a cursor without repeats', async () => {
    const all = (await get('/v1/findings?limit=100', { tenant: 'acme' })).json().items as {
      id: string
    }[]
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await get(`/v1/findings?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        tenant: 'acme',
      })
      const body = res.json() as { items: { id: string }[]; next_cursor: string | null }
      seen.push(...body.items.map((i) => i.id))
      cursor = body.next_cursor
    } while (cursor)
    expect(seen).toEqual(all.map((i) => i.id))
    const critical = (
      await get('/v1/findings?rule=aud-mismatch-accepted&severity=critical', { tenant: 'acme' })
    ).json()
    expect(critical.items.length).toBe(2)
    for (const f of critical.items)
      expect(f).toMatchObject({
        rule_id: 'aud-mismatch-accepted',
        severity: 'critical',
        status: 'open',
      })
  })

  it.each([
    ["rule=x' OR 1=1 --", 'rule'],
    ['severity=urgent', 'severity'],
    ['limit=100000', 'limit'],
    ['since=yesterday', 'since'],
    ['cursor=not-a-cursor', 'cursor'],
    ['unknown=1', '(query)'],
  ])('answers 400 to %s', async (query, field) => {
    const res = await get(`/v1/findings?${query}`, { tenant: 'acme' })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain(field)
  })

  it('treats a hostile resource filter as a literal', async () => {
    const res = await get(`/v1/findings?resource=${encodeURIComponent("x') OR tenant != '")}`, {
      tenant: 'acme',
    })
    expect(res.json()).toEqual({ items: [], next_cursor: null, total: { value: 0, exact: true } })
  })

  it('needs the viewer role', async () => {
    expect((await get('/v1/findings', { roles: ['ingest'] })).statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: '/v1/findings' })).statusCode).toBe(401)
  })
})

describe('GET and PATCH /v1/findings/{id}', () => {
  it('shows one finding and lets an analyst triage it, within the tenant only', async () => {
    const [first] = (
      await get('/v1/findings?rule=aud-mismatch-accepted', { tenant: 'acme' })
    ).json().items as { id: string }[]
    const one = await get(`/v1/findings/${first!.id}`, { tenant: 'acme' })
    expect(one.json()).toMatchObject({ id: first!.id, evidence: { event_ids: expect.any(Array) } })
    expect((await get(`/v1/findings/${first!.id}`, { tenant: 'globex' })).statusCode).toBe(404)

    const patch = async (roles: string[], tenant: string, body: unknown) =>
      app.inject({
        method: 'PATCH',
        url: `/v1/findings/${first!.id}`,
        headers: { authorization: `Bearer ${await keys.token({ roles, tenant })}` },
        payload: body as object,
      })
    expect((await patch(['viewer'], 'acme', { status: 'resolved' })).statusCode).toBe(403)
    expect((await patch(['analyst'], 'globex', { status: 'resolved' })).statusCode).toBe(404)
    expect((await patch(['analyst'], 'acme', { status: 'closed' })).statusCode).toBe(400)
    const ok = await patch(['analyst'], 'acme', {
      status: 'acknowledged',
      note: 'looking',
      assignee: 'bob',
    })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toMatchObject({ status: 'acknowledged', note: 'looking', assignee: 'bob' })
    const filtered = (await get('/v1/findings?status=acknowledged', { tenant: 'acme' })).json()
      .items as { id: string }[]
    expect(filtered.map((f) => f.id)).toEqual([first!.id])
  })
})

describe('GET /v1/events and /v1/tokens/{key}', () => {
  it('searches events of the tenant only, by resource spelled any equivalent way', async () => {
    const res = await get(
      `/v1/events?resource=${encodeURIComponent('HTTPS://MCP-B.example.com:443/mcp')}`,
      {
        tenant: 'acme',
      },
    )
    expect(res.statusCode).toBe(200)
    const items = res.json().items as { event: { tenant: string; resource: string } }[]
    expect(items).toHaveLength(1)
    expect(items[0]!.event).toMatchObject({
      tenant: 'acme',
      resource: 'https://mcp-b.example.com/mcp',
    })
    expect((await get('/v1/events?type=token.revoked', { tenant: 'acme' })).statusCode).toBe(400)
  })

  it('shows a token timeline with its presentations, resources and findings, per tenant', async () => {
    const res = await get('/v1/tokens/shared-key', { tenant: 'globex' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.presentations).toHaveLength(2)
    for (const p of body.presentations) expect(p.event.tenant).toBe('globex')
    expect(body.resources.sort()).toEqual([
      'https://mcp-b.example.com/mcp',
      'https://mcp-c.example.com/mcp',
    ])
    expect(body.findings.map((f: { rule_id: string }) => f.rule_id)).toContain(
      'aud-mismatch-accepted',
    )
    expect(body.delegation).toEqual({ ancestors: [], descendants: [], truncated: false })
    expect((await get('/v1/tokens/unknown-key', { tenant: 'globex' })).statusCode).toBe(404)
    // A key the contract accepts (any jti) is looked up as a literal: no events, not an injection.
    expect(
      (await get(`/v1/tokens/${encodeURIComponent("x' OR 1=1")}`, { tenant: 'globex' })).statusCode,
    ).toBe(404)
    expect((await get('/v1/tokens/%01', { tenant: 'globex' })).statusCode).toBe(400)
  })
})

describe('the delegation chain on the token timeline (RFC 8693)', () => {
  const MCP = 'https://mcp-a.example.com/mcp'
  const API = 'https://api-b.example.com/v1'
  const T0 = Date.now() - 10 * 60_000

  type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

  /** A signed access token as an AS issues it; `act` nests the actors of an exchange. */
  async function accessToken(key: PrivateKey, jti: string, aud: string, act?: object) {
    return new SignJWT({ scope: 'tools:call', client_id: 'agent', ...(act && { act }) })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer('https://as.example.com')
      .setSubject('user-1')
      .setAudience(aud)
      .setJti(jti)
      .setIssuedAt(Math.floor(T0 / 1000))
      .setExpirationTime(Math.floor(T0 / 1000) + 3600)
      .sign(key)
  }

  beforeAll(async () => {
    // A user's token, exchanged by a gateway for an API token, exchanged again by the API's
    // worker: the events the AS collector emits for the grant and the two exchanges.
    const { privateKey } = await generateKeyPair('ES256')
    const user = await accessToken(privateKey, 'chain-user', MCP)
    const gateway = await accessToken(privateKey, 'chain-gw', API, { sub: 'gateway' })
    const worker = await accessToken(privateKey, 'chain-worker', API, {
      sub: 'worker',
      act: { sub: 'gateway' },
    })
    const source = { id: 'as-chain' }
    const at = (s: number) => new Date(T0 + s * 1000).toISOString()
    const events = [
      tokenIssued({
        source,
        tenant: 'chain',
        occurredAt: at(0),
        grantType: 'authorization_code',
        clientId: 'agent',
        accessToken: user,
      }),
      tokenExchanged({
        source,
        tenant: 'chain',
        occurredAt: at(10),
        clientId: 'gateway',
        subjectToken: user,
        actor: { clientId: 'gateway' },
        accessToken: gateway,
        requestedResources: [API],
      }),
      tokenExchanged({
        source,
        tenant: 'chain',
        occurredAt: at(20),
        clientId: 'worker',
        subjectToken: gateway,
        actor: { subject: 'worker' },
        accessToken: worker,
        requestedResources: [API],
      }),
    ]
    await storage.events.insert(
      events.map((e) => {
        const parsed = parseEvent(JSON.parse(JSON.stringify(e)))
        if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
        return toEventRow(parsed.event, { receivedAt: Date.now() })
      }),
    )
  })

  it('shows the exchanges back to the user token and forward to every token exchanged from it', async () => {
    const res = await get('/v1/tokens/chain-gw', { tenant: 'chain' })
    expect(res.statusCode).toBe(200)
    const { delegation } = res.json()
    expect(delegation.truncated).toBe(false)
    expect(delegation.ancestors).toEqual([
      {
        event_id: expect.any(String),
        occurred_at: new Date(T0 + 10_000).toISOString(),
        token_key: 'chain-gw',
        subject_token_key: 'chain-user',
        client_id: 'gateway',
        actor: { subject: null, client_id: 'gateway' },
        granted_aud: [API],
        scopes: ['tools:call'],
        act_depth: 1,
      },
    ])
    expect(delegation.descendants).toEqual([
      expect.objectContaining({
        token_key: 'chain-worker',
        subject_token_key: 'chain-gw',
        client_id: 'worker',
        actor: { subject: 'worker', client_id: null },
        act_depth: 2,
      }),
    ])
    // From the user's token: no ancestors, both exchanges below it, level by level.
    const root = (await get('/v1/tokens/chain-user', { tenant: 'chain' })).json().delegation
    expect(root.ancestors).toEqual([])
    expect(root.descendants.map((l: { token_key: string }) => l.token_key)).toEqual([
      'chain-gw',
      'chain-worker',
    ])
    // From the last token: both exchanges above it, nearest first.
    const leaf = (await get('/v1/tokens/chain-worker', { tenant: 'chain' })).json().delegation
    expect(leaf.ancestors.map((l: { subject_token_key: string }) => l.subject_token_key)).toEqual([
      'chain-gw',
      'chain-user',
    ])
    expect(leaf.descendants).toEqual([])
    // Another tenant sees none of it.
    expect((await get('/v1/tokens/chain-gw', { tenant: 'acme' })).statusCode).toBe(404)
  })
})

describe('an event stored twice (two writers of one event before a merge)', () => {
  it('appears once in the events search and in the token timeline', async () => {
    const parsed = parseEvent(presentedEvent({ tenant: 'dup', token: { jti: 'dup-key' } }))
    if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
    const row = toEventRow(parsed.event, { receivedAt: Date.now() })
    // Two inserts, two parts, different received_at: what FINAL would collapse.
    await insertEventRows(storage, [row])
    await insertEventRows(storage, [{ ...row, received_at: row.received_at.replace(/\d$/, '9') }])
    const search = await get('/v1/events', { tenant: 'dup' })
    expect(search.json().items).toHaveLength(1)
    const timeline = await get('/v1/tokens/dup-key', { tenant: 'dup' })
    expect(timeline.json().presentations).toHaveLength(1)
  })

  it('pages through events stored twice without repeats or gaps, ending without a cursor', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => {
      const parsed = parseEvent(
        presentedEvent({
          tenant: 'dup-pages',
          occurred_at: new Date(Date.now() - 60_000 + i * 1000).toISOString(),
        }),
      )
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: Date.now() })
    })
    await insertEventRows(storage, rows)
    await insertEventRows(
      storage,
      rows.map((r) => ({ ...r, received_at: r.received_at.replace(/\d$/, '9') })),
    )
    const pages: string[][] = []
    let cursor: string | null = null
    do {
      const res = await get(`/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        tenant: 'dup-pages',
      })
      const body = res.json() as {
        items: { event: { event_id: string } }[]
        next_cursor: string | null
      }
      pages.push(body.items.map((x) => x.event.event_id))
      cursor = body.next_cursor
    } while (cursor)
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1])
    expect(pages.flat()).toEqual(rows.map((r) => r.event_id).reverse())
  })
})

describe('searchPage', () => {
  const rows = (ids: string) => [...ids].map((event_id) => ({ event_id }))
  const ids = (r: { page: { event_id: string }[]; more: boolean }) =>
    `${r.page.map((x) => x.event_id).join('')}${r.more ? '+' : ''}`

  it('keeps the first version of each event, up to the page size', () => {
    expect(ids(searchPage(rows('aabbcc'), 2, 12))).toBe('ab+')
    expect(ids(searchPage(rows('aabbc'), 3, 13))).toBe('abc')
    expect(ids(searchPage(rows('ab'), 2, 12))).toBe('ab')
  })

  it('says more may follow when every fetched row was used, even on a short page', () => {
    expect(ids(searchPage(rows('aaaabbbbcccc'), 5, 12))).toBe('abc+')
    expect(ids(searchPage(rows('abcd'), 4, 4))).toBe('abcd+')
  })
})

describe('GET /v1/rules, /v1/resources and /v1/clients', () => {
  it('lists every rule of the catalog, in its order, with mappings and parameter defaults', async () => {
    const items = (await get('/v1/rules')).json().items as {
      id: string
      mappings: object
      parameters: object
    }[]
    expect(items.map((r) => r.id)).toEqual(RULES.map((r) => r.id))
    expect(items.find((r) => r.id === 'long-lived-token')).toMatchObject({
      mappings: { owasp_nhi: expect.any(Array) },
      parameters: expect.any(Object),
    })
  })

  it("inventories the tenant's resources with their raw spellings and decisions", async () => {
    const items = (await get('/v1/resources', { tenant: 'acme' })).json().items as {
      drift_key: string
      variants: { raw: string; role: string; events: number }[]
      accepted: number
    }[]
    const b = items.find((i) => i.drift_key === 'https://mcp-b.example.com/mcp')
    expect(b).toMatchObject({ accepted: 1 })
    expect(b!.variants).toEqual(
      expect.arrayContaining([
        { raw: 'https://mcp-b.example.com/mcp', role: 'resource_server', events: 1 },
      ]),
    )
    expect((await get('/v1/resources', { tenant: 'initech' })).json().items).toEqual([])
  })

  it('summarizes usage per client within the tenant, with the findings about each', async () => {
    type Item = { id: string; keys: { client_id?: string }; status: string }
    const findings = async () =>
      ((await get('/v1/findings?limit=100', { tenant: 'globex' })).json().items as Item[]).filter(
        (f) => f.keys.client_id === 'agent-7',
      )
    const triage = async (id: string, body: object) =>
      app.inject({
        method: 'PATCH',
        url: `/v1/findings/${id}`,
        headers: {
          authorization: `Bearer ${await keys.token({ roles: ['analyst'], tenant: 'globex' })}`,
        },
        payload: body,
      })
    const [first, second] = await findings()
    expect(second).toBeDefined()
    // One acknowledged (not open), one given only a note (stored as open: still open).
    expect((await triage(first!.id, { status: 'acknowledged' })).statusCode).toBe(200)
    expect((await triage(second!.id, { note: 'seen' })).statusCode).toBe(200)
    const about = await findings()
    expect(about.filter((f) => f.status === 'open').length).toBe(about.length - 1)
    const res = await get('/v1/clients', { tenant: 'globex' })
    expect(res.json()).toEqual({
      items: [
        expect.objectContaining({
          client_id: 'agent-7',
          events: 2,
          tokens: 1,
          findings: about.length,
          open_findings: about.filter((f) => f.status === 'open').length,
        }),
      ],
      next_cursor: null,
    })
    for (const bad of ['since=nope', 'limit=0', 'limit=501', 'cursor=bm90LWEtY3Vyc29y', 'x=1'])
      expect((await get(`/v1/clients?${bad}`, { tenant: 'globex' })).statusCode, bad).toBe(400)
  })

  it('pages through the resources with a cursor, each once and in order, to the last one', async () => {
    const tenant = 'paged-resources'
    const resources = Array.from(
      { length: 7 },
      (_, i) => `https://rs-${String.fromCharCode(103 - i)}.example.com/mcp`,
    )
    const rows = resources.map((resource) => {
      const parsed = parseEvent(presentedEvent({ tenant, resource }))
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: Date.now() })
    })
    await insertEventRows(storage, rows)
    type Page = { items: { drift_key: string; accepted: number }[]; next_cursor: string | null }
    const whole = (await get('/v1/resources', { tenant })).json() as Page
    expect(whole.next_cursor).toBeNull()
    const seen: string[] = []
    let url = '/v1/resources?limit=3'
    let pages = 0
    for (; pages < 5; pages++) {
      const page = (await get(url, { tenant })).json() as Page
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items.map((i) => i.drift_key))
      if (!page.next_cursor) break
      url = `/v1/resources?limit=3&cursor=${page.next_cursor}`
    }
    // Three pages (the events' audience is a resource too): the limit no longer cuts the
    // inventory off silently.
    expect(pages).toBe(2)
    expect(seen).toEqual(whole.items.map((i) => i.drift_key))
    expect(seen).toEqual(expect.arrayContaining(resources))
    expect([...seen].sort()).toEqual(seen)
    // Another tenant's cursor is only a position: it shows nothing of that tenant.
    expect((await get(url, { tenant: 'globex' })).json().items).toEqual([])
    // A cursor carrying SQL is a literal position too.
    const hostile = Buffer.from(JSON.stringify(["https://rs-d' OR 1=1 --"])).toString('base64url')
    const after = await get(`/v1/resources?cursor=${hostile}`, { tenant })
    expect(after.statusCode).toBe(200)
    expect(after.json().items.map((i: { drift_key: string }) => i.drift_key)).toEqual(
      seen.filter((k) => k > "https://rs-d' OR 1=1 --"),
    )
    expect((await get('/v1/resources?cursor=%%%', { tenant })).statusCode).toBe(400)
  })

  it('pages through the clients with a cursor, each once and in order', async () => {
    const tenant = 'paged'
    const clients = Array.from({ length: 7 }, (_, i) => `client-${String.fromCharCode(103 - i)}`)
    const rows = clients.map((client_id) => {
      const parsed = parseEvent(presentedEvent({ tenant, client_id }))
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: Date.now() })
    })
    await insertEventRows(storage, rows)
    const seen: string[] = []
    let url = '/v1/clients?limit=3'
    for (let pages = 0; pages < 5; pages++) {
      const page = (await get(url, { tenant })).json() as {
        items: { client_id: string; findings: number }[]
        next_cursor: string | null
      }
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items.map((i) => i.client_id))
      if (!page.next_cursor) break
      url = `/v1/clients?limit=3&cursor=${page.next_cursor}`
    }
    expect(seen).toEqual([...clients].sort())
    // Another tenant's cursor is only a position: it shows nothing of that tenant.
    expect((await get(url, { tenant: 'globex' })).json().items).toEqual([])
    // A cursor carrying SQL is a literal position too.
    const hostile = Buffer.from(JSON.stringify(["client-c' OR 1=1 --"])).toString('base64url')
    const after = await get(`/v1/clients?cursor=${hostile}`, { tenant })
    expect(after.statusCode).toBe(200)
    expect(after.json().items.map((i: { client_id: string }) => i.client_id)).toEqual(
      [...clients].sort().filter((c) => c > "client-c' OR 1=1 --"),
    )
  })
})

describe('/v1/exceptions', () => {
  it('lets an admin create, list and delete scoped, expiring exceptions within the tenant', async () => {
    const call = async (
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      roles: string[],
      tenant: string,
      body?: object,
    ) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${await keys.token({ roles, tenant })}` },
        ...(body ? { payload: body } : {}),
      })
    const input = {
      rule_id: 'aud-mismatch-accepted',
      match: { client_id: 'agent-7' },
      owner: 'alice@example.com',
      reason: 'migration window',
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    }
    expect((await call('POST', '/v1/exceptions', ['analyst'], 'acme', input)).statusCode).toBe(403)
    expect(
      (await call('POST', '/v1/exceptions', ['admin'], 'acme', { ...input, rule_id: 'nope' }))
        .statusCode,
    ).toBe(400)
    expect(
      (await call('POST', '/v1/exceptions', ['admin'], 'acme', { ...input, match: {} })).statusCode,
    ).toBe(400)
    expect(
      (
        await call('POST', '/v1/exceptions', ['admin'], 'acme', {
          ...input,
          expires_at: '2000-01-01T00:00:00Z',
        })
      ).statusCode,
    ).toBe(400)
    const created = await call('POST', '/v1/exceptions', ['admin'], 'acme', input)
    expect(created.statusCode).toBe(201)
    const id = created.json().id as string
    expect(created.json()).toMatchObject({
      rule_id: 'aud-mismatch-accepted',
      owner: 'alice@example.com',
      active: true,
    })
    expect((await call('GET', '/v1/exceptions', ['admin'], 'globex')).json().items).toEqual([])
    expect((await call('DELETE', `/v1/exceptions/${id}`, ['admin'], 'globex')).statusCode).toBe(404)
    expect((await call('DELETE', `/v1/exceptions/${id}`, ['admin'], 'acme')).statusCode).toBe(204)
    expect((await call('GET', '/v1/exceptions', ['admin'], 'acme')).json().items).toEqual([])
  })
})
