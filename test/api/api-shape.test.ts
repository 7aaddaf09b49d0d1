/**
 * Issue 23 (items 1, 2, 3, 5, 6) against the embedded engine: one time format, the findings list's
 * filters, sorts, cursor and total, links, the token timeline at scale, and counts that add up.
 * One tenant's events go through the streaming detector with every rule, as in production.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore, TRIAGE_STATUSES } from '../../src/detection/findings-store.js'
import { SEVERITIES } from '../../src/detection/rule.js'
import { exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'
import { RULES } from '../../src/detection/rules/index.js'
import { toEventRow } from '../../src/events/event-row.js'
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('api_shape')
const TENANT = 'shape'
const A = 'https://mcp-a.example/mcp'
const B = 'https://mcp-b.example/mcp'
/** An hour ago on a whole second: event times are offsets from here. */
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000
const t = (s: number) => new Date(T0 + s * 1000).toISOString()
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const PUBLIC = 'https://audtrail.example.com'

let app: FastifyInstance
let linked: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

type Finding = {
  id: string
  rule_id: string
  severity: string
  status: string
  title: string
  count: number
  first_seen: string
  last_seen: string
  keys: Record<string, string>
  evidence: Record<string, unknown>
  links: { self: string; events: string; rule: string; console: string; token?: string }
}

const ev = exampleEvents('api-shape')
const tok = (jti: string, aud = [A]) =>
  token({ jti, aud, iat: T0 / 1000, exp: T0 / 1000 + 7200, scopes: ['files:read'] })
const at = (jti: string, resource: string, s: number, accepted: boolean) =>
  ev.presented({
    tenant: TENANT,
    occurred_at: t(s),
    token: tok(jti),
    resource,
    presented_aud: [A],
    decision: accepted ? 'accepted' : 'rejected',
    reason: accepted ? 'ok' : 'aud_mismatch',
  })

/**
 * tk-replay: issued for A, used at A, then replayed five times at B (rejected). tk-early: at B
 * three times first, then at A. tk-nores: issued without a resource indicator (a finding keyed on
 * its client), then used at A. tk-other: rejected at A (the same spelling and role as the
 * accepted presentations there, with another decision).
 */
const EVENTS = [
  ev.issued({
    tenant: TENANT,
    occurred_at: t(0),
    token: tok('tk-replay'),
    requested_resources: [A],
    granted_aud: [A],
  }),
  at('tk-replay', A, 10, true),
  ...[20, 30, 40, 50, 60].map((s) => at('tk-replay', B, s, false)),
  ...[100, 110, 120].map((s) => at('tk-early', B, s, false)),
  at('tk-early', A, 130, true),
  ev.issued({
    tenant: TENANT,
    occurred_at: t(200),
    client_id: 'agent-nores',
    token: tok('tk-nores'),
    requested_resources: [],
    granted_aud: [A],
  }),
  { ...at('tk-nores', A, 210, true), client_id: 'agent-nores' },
  { ...at('tk-other', A, 220, false), reason: 'expired' },
]

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  const rows = EVENTS.map((e) => {
    const parsed = parseEvent(e)
    if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
    return toEventRow(parsed.event, { receivedAt: Date.now() })
  })
  await insertEventRows(storage, rows)
  const detector = createStreamingDetector({
    rules: RULES,
    store: createFindingsStore(storage),
    logger: createLogger('silent'),
  })
  // One event at a time, as a stream delivers them.
  for (const row of rows) await detector.process([row])
  keys = await apiKeys()
  app = await testApp(keys, { storage })
  linked = await testApp(keys, { storage, publicUrl: PUBLIC })
})
afterAll(async () => {
  await app.close()
  await linked.close()
  await closeTestStorages()
})

async function get(url: string, on: FastifyInstance = app) {
  const token = await keys.token({ roles: ['viewer'], tenant: TENANT })
  return on.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
}
async function findings(query = ''): Promise<Finding[]> {
  const res = await get(`/v1/findings?limit=500${query}`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json().items as Finding[]
}
const ids = (list: readonly { id: string }[]) => list.map((f) => f.id).sort()

/** Every string in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(strings)
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings)
  return []
}

describe('one time format (item 1)', () => {
  it('answers every time as RFC 3339 UTC, inside evidence too', async () => {
    const all = await findings()
    expect(all.length).toBeGreaterThan(3)
    for (const f of all) {
      expect(f.first_seen).toMatch(RFC3339)
      expect(f.last_seen).toMatch(RFC3339)
      // No stored DateTime64 text (`2026-12-07 12:47:09.252`) anywhere in the evidence.
      for (const s of strings(f.evidence)) expect(s).not.toMatch(/^\d{4}-\d\d-\d\d \d\d:/)
    }
    const replay = all.find((f) => f.rule_id === 'cross-audience-replay')!
    expect((replay.evidence.current as { occurred_at: string }).occurred_at).toMatch(RFC3339)
    const events = (await get('/v1/events?limit=5')).json().items as { received_at: string }[]
    for (const e of events) expect(e.received_at).toMatch(RFC3339)
    const timeline = (await get('/v1/tokens/tk-replay')).json()
    for (const g of timeline.summary)
      expect([g.first_seen, g.last_seen]).toEqual([
        expect.stringMatching(RFC3339),
        expect.stringMatching(RFC3339),
      ])
  })

  it('takes since/until as RFC 3339 or a plain date (midnight UTC)', async () => {
    const day = new Date(T0).toISOString().slice(0, 10)
    const next = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10)
    const byDate = await findings(`&since=${day}&until=${next}`)
    const byTime = await findings(
      `&since=${encodeURIComponent(`${day}T00:00:00Z`)}&until=${encodeURIComponent(`${next}T01:00:00+01:00`)}`,
    )
    expect(ids(byDate)).toEqual(ids(byTime))
    // A day from which nothing was seen: nothing.
    expect(await findings(`&since=${next}&until=2999-01-01`)).toEqual(
      (await findings()).filter((f) => f.last_seen >= `${next}T`),
    )
    expect((await get('/v1/findings?since=2026-13-01')).statusCode).toBe(400)
    expect((await get('/v1/events?since=yesterday')).statusCode).toBe(400)
    expect((await get(`/v1/events?since=${day}`)).statusCode).toBe(200)
    expect((await get(`/v1/resources?since=${day}`)).statusCode).toBe(200)
  })
})

describe('filters, sorts, cursor and total (item 2)', () => {
  it('takes several severities, rules and statuses: the union of each one alone', async () => {
    for (const [name, values] of [
      ['severity', SEVERITIES],
      ['rule', ['cross-audience-replay', 'missing-resource-indicator', 'aud-mismatch-rejected']],
      ['status', TRIAGE_STATUSES],
    ] as const) {
      const each = (await Promise.all(values.map((v) => findings(`&${name}=${v}`)))).flat()
      const together = await findings(`&${name}=${values.join(',')}`)
      expect(ids(together)).toEqual(ids(each))
      expect(together.length).toBeGreaterThan(0)
    }
    expect(ids(await findings('&severity=high,critical'))).toEqual(
      ids((await findings()).filter((f) => f.severity === 'high' || f.severity === 'critical')),
    )
    expect((await get('/v1/findings?severity=high,urgent')).statusCode).toBe(400)
    expect((await get('/v1/findings?severity=high,')).statusCode).toBe(400)
  })

  it.each([
    ['-last_seen', (f: Finding) => [-Date.parse(f.last_seen)]],
    ['last_seen', (f: Finding) => [Date.parse(f.last_seen)]],
    ['-first_seen', (f: Finding) => [-Date.parse(f.first_seen)]],
    ['first_seen', (f: Finding) => [Date.parse(f.first_seen)]],
    [
      '-severity',
      (f: Finding) => [-SEVERITIES.indexOf(f.severity as never), -Date.parse(f.last_seen)],
    ],
    [
      'severity',
      (f: Finding) => [SEVERITIES.indexOf(f.severity as never), Date.parse(f.last_seen)],
    ],
    ['-count', (f: Finding) => [-f.count, -Date.parse(f.last_seen)]],
    ['count', (f: Finding) => [f.count, Date.parse(f.last_seen)]],
  ])('sorts by %s and pages through every finding once with the cursor', async (sort, key) => {
    const whole = await findings(`&sort=${sort}`)
    const seen: Finding[] = []
    let cursor: string | null = null
    do {
      const res = await get(`/v1/findings?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      const body = res.json() as { items: Finding[]; next_cursor: string | null; total: unknown }
      expect(body.total).toEqual({ value: whole.length, exact: true })
      seen.push(...body.items)
      cursor = body.next_cursor
    } while (cursor)
    expect(seen.map((f) => f.id)).toEqual(whole.map((f) => f.id))
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [key(seen[i - 1]!), key(seen[i]!)]
      const order = a[0]! - b[0]! || (a[1] ?? 0) - (b[1] ?? 0)
      expect(order).toBeLessThanOrEqual(0)
      if (order === 0) expect(seen[i - 1]!.id < seen[i]!.id).toBe(true)
    }
  })

  it('refuses a cursor of another sort, and an unknown sort', async () => {
    const page = (await get('/v1/findings?sort=-count&limit=1')).json()
    expect(page.next_cursor).toEqual(expect.any(String))
    const other = await get(`/v1/findings?sort=count&cursor=${page.next_cursor}`)
    expect(other.statusCode).toBe(400)
    expect(other.json().message).toContain('cursor')
    expect((await get('/v1/findings?sort=title')).statusCode).toBe(400)
  })

  it('counts the matches whatever the page, exactly below the bound', async () => {
    const all = await findings()
    const res = (await get('/v1/findings?limit=1&severity=high')).json()
    expect(res.total).toEqual({
      value: all.filter((f) => f.severity === 'high').length,
      exact: true,
    })
  })

  it('counts the total on the first page only: later pages carry it in their cursor', async () => {
    const whole = await findings()
    const counted = vi.spyOn(storage.findings, 'count')
    try {
      const first = (await get('/v1/findings?limit=2')).json()
      expect(counted).toHaveBeenCalledTimes(1)
      expect(first.total).toEqual({ value: whole.length, exact: true })
      let cursor: string | null = first.next_cursor
      let pages = 1
      while (cursor) {
        const page = (await get(`/v1/findings?limit=2&cursor=${cursor}`)).json()
        expect(page.total).toEqual(first.total)
        cursor = page.next_cursor
        pages++
      }
      expect(pages).toBe(Math.ceil(whole.length / 2))
      expect(counted).toHaveBeenCalledTimes(1)
      // A cursor with a total this API did not write (not a count) is refused like any forgery.
      const parts = JSON.parse(Buffer.from(first.next_cursor, 'base64url').toString()) as string[]
      const forged = Buffer.from(JSON.stringify([...parts.slice(0, 5), 'x'])).toString('base64url')
      expect((await get(`/v1/findings?limit=2&cursor=${forged}`)).statusCode).toBe(400)
      // A cursor without a total (as written before the total was carried) counts again.
      const bare = Buffer.from(JSON.stringify(parts.slice(0, 4))).toString('base64url')
      const again = (await get(`/v1/findings?limit=2&cursor=${bare}`)).json()
      expect(again.total).toEqual(first.total)
      expect(counted).toHaveBeenCalledTimes(2)
    } finally {
      counted.mockRestore()
    }
  })

  it('does not count when the first page holds every match: the total is its rows', async () => {
    const whole = await findings()
    const high = whole.filter((f) => f.severity === 'high').length
    expect(high).toBeGreaterThan(0)
    const counted = vi.spyOn(storage.findings, 'count')
    try {
      const all = (await get(`/v1/findings?limit=${whole.length + 1}`)).json()
      expect(all.total).toEqual({ value: whole.length, exact: true })
      expect(all.next_cursor).toBeNull()
      const some = (await get('/v1/findings?severity=high&limit=500')).json()
      expect(some.total).toEqual({ value: high, exact: true })
      expect(counted).not.toHaveBeenCalled()
      // A full first page is counted: the same answer as the page that held every match.
      const full = (await get(`/v1/findings?limit=${whole.length}`)).json()
      expect(full.total).toEqual({ value: whole.length, exact: true })
      expect(counted).toHaveBeenCalledTimes(1)
    } finally {
      counted.mockRestore()
    }
  })

  it('finds text in client, resource, token key, rule and title, any case, % and _ literal', async () => {
    const all = await findings()
    for (const text of ['MCP-B', 'TK-REPLAY', 'Replayed', 'agent-NORES', 'cross-AUDIENCE']) {
      const found = await findings(`&q=${encodeURIComponent(text)}`)
      const expected = all.filter((f) =>
        [f.keys.client_id ?? '', f.keys.resource ?? '', f.keys.token_key ?? '', f.rule_id, f.title]
          .join('\n')
          .toLowerCase()
          .includes(text.toLowerCase()),
      )
      expect(found.length, text).toBeGreaterThan(0)
      expect(ids(found), text).toEqual(ids(expected))
    }
    // Unescaped, % and _ would match every finding.
    expect(await findings('&q=%25')).toEqual([])
    expect(await findings('&q=_')).toEqual([])
    expect(await findings(`&q=${encodeURIComponent("' OR 1=1 --")}`)).toEqual([])
  })

  it('matches a resource by its canonical form, whatever the spelling', async () => {
    const canonical = await findings(`&resource=${encodeURIComponent(B)}`)
    expect(canonical.length).toBeGreaterThanOrEqual(2)
    for (const spelling of ['HTTPS://MCP-B.example/mcp', 'https://mcp-b.example:443/mcp']) {
      const found = await findings(`&resource=${encodeURIComponent(spelling)}`)
      expect(ids(found), spelling).toEqual(ids(canonical))
    }
    const events = (
      await get(`/v1/events?resource=${encodeURIComponent('HTTPS://MCP-B.example:443/mcp')}`)
    ).json().items as unknown[]
    expect(events).toHaveLength(8)
  })
})

describe('links (item 3)', () => {
  it('links a finding to itself, its events, its rule with the runbook, its console page and token', async () => {
    const [replay] = await findings('&rule=cross-audience-replay&q=tk-replay')
    expect(replay!.links).toEqual({
      self: `/v1/findings/${replay!.id}`,
      events: `/v1/events?finding=${replay!.id}`,
      rule: '/v1/rules/cross-audience-replay',
      console: `/findings/${replay!.id}`,
      token: '/v1/tokens/tk-replay',
    })
    expect((await get(replay!.links.self)).json().id).toBe(replay!.id)
    const rule = (await get(replay!.links.rule)).json()
    expect(rule.runbook.length).toBeGreaterThan(0)
    const events = (await get(replay!.links.events)).json().items as {
      event: { event_id: string }
    }[]
    // The replays the finding counts, and the legitimate uses inside the audience beside them.
    const context = (replay!.evidence.presentations as { event_ids: string[] }[]).flatMap(
      (p) => p.event_ids,
    )
    expect(context.length).toBeGreaterThan(0)
    expect(context.some((id) => !(replay!.evidence.event_ids as string[]).includes(id))).toBe(true)
    expect(events.map((e) => e.event.event_id).sort()).toEqual(
      [...new Set([...(replay!.evidence.event_ids as string[]), ...context])].sort(),
    )
    expect((await get(replay!.links.token!)).statusCode).toBe(200)
    // A finding of no token has no token link; one of another tenant has no events.
    const nores = (await findings('&rule=missing-resource-indicator'))[0]!
    expect(nores.links.token).toBe('/v1/tokens/tk-nores')
    const foreign = await app.inject({
      method: 'GET',
      url: replay!.links.events,
      headers: {
        authorization: `Bearer ${await keys.token({ roles: ['viewer'], tenant: 'other' })}`,
      },
    })
    expect(foreign.json().items).toEqual([])
  })

  it('links events and tokens back to their findings', async () => {
    const events = (await get('/v1/events?token=tk-replay&limit=1')).json().items as {
      links: { findings: string; token: string }
    }[]
    expect(events[0]!.links).toEqual({
      findings: '/v1/findings?token=tk-replay',
      token: '/v1/tokens/tk-replay',
    })
    const back = (await get(`${events[0]!.links.findings}&limit=500`)).json().items as Finding[]
    expect(back.map((f) => f.rule_id)).toContain('cross-audience-replay')
    const timeline = (await get('/v1/tokens/tk-replay')).json()
    expect(timeline.links).toEqual({
      self: '/v1/tokens/tk-replay',
      findings: '/v1/findings?token=tk-replay',
      events: '/v1/events?token=tk-replay',
    })
  })

  it('makes every link absolute under AUDTRAIL_PUBLIC_URL', async () => {
    const res = await get('/v1/findings?rule=cross-audience-replay&limit=1', linked)
    const [f] = res.json().items as Finding[]
    for (const link of Object.values(f!.links)) expect(link.startsWith(`${PUBLIC}/`)).toBe(true)
    expect(f!.links.console).toBe(`${PUBLIC}/findings/${f!.id}`)
    const timeline = (await get('/v1/tokens/tk-replay', linked)).json()
    expect(timeline.links.self).toBe(`${PUBLIC}/v1/tokens/tk-replay`)
    expect(timeline.presentations[0].links.findings).toBe(`${PUBLIC}/v1/findings?token=tk-replay`)
  })
})

describe('the token timeline at scale (item 5)', () => {
  it('pages the presentations, summarises all of them and says nothing was cut', async () => {
    const seen: { event: { event_id: string; occurred_at: string } }[] = []
    let cursor: string | null = null
    let pages = 0
    let summary: { resource: string; decision: string; count: number }[] = []
    do {
      const res = await get(`/v1/tokens/tk-replay?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode).toBe(200)
      const body = res.json()
      expect(body.presentations.length).toBeLessThanOrEqual(2)
      expect(body.truncated).toBe(false)
      seen.push(...body.presentations)
      summary = body.summary
      cursor = body.next_cursor
      pages += 1
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toHaveLength(6)
    expect(new Set(seen.map((p) => p.event.event_id)).size).toBe(6)
    expect(seen.map((p) => p.event.occurred_at)).toEqual([10, 20, 30, 40, 50, 60].map(t))
    expect(summary).toEqual([
      { resource: A, decision: 'accepted', count: 1, first_seen: t(10), last_seen: t(10) },
      { resource: B, decision: 'rejected', count: 5, first_seen: t(20), last_seen: t(60) },
    ])
    expect(summary.reduce((n, g) => n + g.count, 0)).toBe(seen.length)
    expect((await get('/v1/tokens/tk-replay?limit=0')).statusCode).toBe(400)
    expect((await get('/v1/tokens/tk-replay?cursor=forged')).statusCode).toBe(400)
  })

  it('includes the findings whose evidence names the token, whatever they are keyed on', async () => {
    const body = (await get('/v1/tokens/tk-nores')).json()
    expect(body.issuance).toHaveLength(1)
    const rules = (body.findings as Finding[]).map((f) => f.rule_id)
    expect(rules).toContain('missing-resource-indicator')
    const f = (body.findings as Finding[]).find((x) => x.rule_id === 'missing-resource-indicator')!
    expect(f.keys.token_key).toBeUndefined()
    // The list's token filter is the same.
    expect((await findings('&token=tk-nores')).map((x) => x.id)).toContain(f.id)
  })
})

describe('counts that add up (item 6)', () => {
  const replayAt = async (token: string) => {
    const found = (await findings(`&rule=cross-audience-replay&token=${token}`)).filter(
      (f) => f.keys.token_key === token,
    )
    expect(found).toHaveLength(1)
    return found[0]!
  }

  it('cross-audience-replay counts the replays at the outside resource, and last_seen follows them', async () => {
    const f = await replayAt('tk-replay')
    expect(f.keys.resource).toBe(B)
    // Five presentations at B; the legitimate one at A is not one of them.
    expect(f.count).toBe(5)
    expect(f.first_seen).toBe(t(20))
    expect(f.last_seen).toBe(t(60))
  })

  it('counts replays seen before the token reached its own resource, at their own times', async () => {
    const f = await replayAt('tk-early')
    expect(f.keys.resource).toBe(B)
    expect(f.count).toBe(3)
    expect(f.first_seen).toBe(t(100))
    expect(f.last_seen).toBe(t(120))
  })

  it('lists each (raw spelling, role) of a resource once, over every decision', async () => {
    const items = (await get('/v1/resources')).json().items as {
      drift_key: string
      variants: { raw: string; role: string; events: number }[]
      accepted: number
      rejected: number
    }[]
    for (const r of items) {
      const pairs = r.variants.map((v) => `${v.raw} ${v.role}`)
      expect(new Set(pairs).size, r.drift_key).toBe(pairs.length)
    }
    const a = items.find((r) => r.drift_key === A)!
    // Three accepted presentations at A and one rejected: one variant of four events.
    expect(a).toMatchObject({ accepted: 3, rejected: 1 })
    expect(a.variants.filter((v) => v.role === 'resource_server')).toEqual([
      { raw: A, role: 'resource_server', events: 4 },
    ])
  })
})
