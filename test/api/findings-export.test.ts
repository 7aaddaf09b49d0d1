/**
 * GET /v1/findings/export (issue 23, item 7): every format parsed back and checked field by field
 * against the findings list, the list's filters, one tenant only, and paging through storage
 * (more findings than a page, from the in-memory repositories).
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXPORT_PAGE, findingPages } from '../../src/api/routes/findings-export.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import { FINDING_CSV_COLUMNS } from '../../src/exports/csv.js'
import { ECS_VERSION } from '../../src/exports/ecs.js'
import { OCSF_VERSION } from '../../src/exports/ocsf.js'
import type { Storage } from '../../src/storage/client.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { seedSharedKeyReplays } from '../helpers/replays.js'
import { parseCsv } from '../helpers/csv.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { expectErrorModel } from './documented-errors.js'

const storage = testStorage('api_findings_export')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

async function seed() {
  await seedSharedKeyReplays(storage, { clientId: '=cmd|calc' })
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

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

async function get(url: string, tenant = 'acme', roles = ['viewer'], on = app) {
  const token = await keys.token({ roles, tenant })
  return on.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
}
const lines = (body: string) =>
  body
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Json)
const listed = async (tenant: string, query = '') =>
  (await get(`/v1/findings?limit=500${query}`, tenant)).json().items as Json[]

describe('GET /v1/findings/export', () => {
  it('ndjson: the findings of the list, as the list answers them, newest first', async () => {
    const res = await get('/v1/findings/export?format=ndjson')
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(res.headers['content-disposition']).toBe('attachment; filename="findings.ndjson"')
    const exported = lines(res.body)
    const items = await listed('acme')
    expect(items.length).toBeGreaterThan(1)
    expect(exported).toEqual(items)
  })

  it('csv: parses back to one row per finding, formula cells neutralised', async () => {
    const res = await get('/v1/findings/export?format=csv')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/csv/)
    expect(res.body.endsWith('\r\n')).toBe(true)
    const [header, ...rows] = parseCsv(res.body)
    expect(header).toEqual([...FINDING_CSV_COLUMNS])
    const items = await listed('acme')
    expect(rows).toHaveLength(items.length)
    const col = (row: string[], name: (typeof FINDING_CSV_COLUMNS)[number]) =>
      row[FINDING_CSV_COLUMNS.indexOf(name)]!
    for (const [i, row] of rows.entries()) {
      const f = items[i]!
      expect(col(row, 'id')).toBe(f.id)
      expect(col(row, 'tenant')).toBe('acme')
      expect(col(row, 'severity')).toBe(f.severity)
      expect(col(row, 'last_seen')).toBe(f.last_seen)
      expect(Number(col(row, 'count'))).toBe(f.count)
      expect(JSON.parse(col(row, 'keys'))).toEqual(f.keys)
      if (f.keys.client_id) expect(col(row, 'client_id')).toBe(`'${f.keys.client_id}`)
    }
    expect(rows.some((r) => col(r, 'client_id') === "'=cmd|calc")).toBe(true)
    expect(res.body).not.toMatch(/(^|,)=cmd/m)
  })

  it('ocsf: Detection Finding 2004 events carrying each finding', async () => {
    const res = await get('/v1/findings/export?format=ocsf&rule=aud-mismatch-accepted')
    const events = lines(res.body)
    const items = await listed('acme', '&rule=aud-mismatch-accepted')
    expect(events).toHaveLength(items.length)
    const severity = { low: 2, medium: 3, high: 4, critical: 5 } as Record<string, number>
    for (const [i, e] of events.entries()) {
      const f = items[i]!
      expect(e).toMatchObject({
        class_uid: 2004,
        category_uid: 2,
        activity_id: 1,
        type_uid: 200401,
        severity_id: severity[f.severity],
        status_id: 1,
        status: 'New',
        count: f.count,
        start_time: Date.parse(f.first_seen),
        end_time: Date.parse(f.last_seen),
        metadata: { version: OCSF_VERSION, uid: f.id, product: { name: 'audtrail' } },
        finding_info: {
          uid: f.id,
          title: f.title,
          analytic: { uid: 'aud-mismatch-accepted', type_id: 1 },
          first_seen_time: Date.parse(f.first_seen),
          last_seen_time: Date.parse(f.last_seen),
        },
        resources: [{ uid: f.keys.resource }],
        unmapped: { tenant: 'acme', keys: f.keys },
      })
    }
  })

  it('ecs: alert documents with rule.* and the finding times', async () => {
    const events = lines((await get('/v1/findings/export?format=ecs')).body)
    const items = await listed('acme')
    expect(events).toHaveLength(items.length)
    for (const [i, e] of events.entries()) {
      const f = items[i]!
      expect(e).toMatchObject({
        '@timestamp': f.last_seen,
        ecs: { version: ECS_VERSION },
        event: {
          kind: 'alert',
          category: ['intrusion_detection'],
          id: f.id,
          start: f.first_seen,
          end: f.last_seen,
        },
        rule: { id: f.rule_id, name: f.title },
        organization: { id: 'acme' },
        audtrail: { status: f.status, count: f.count, keys: f.keys },
      })
    }
  })

  it('takes the list filters and shows one tenant only', async () => {
    const acme = lines((await get('/v1/findings/export', 'acme')).body)
    const globex = lines((await get('/v1/findings/export', 'globex')).body)
    expect(new Set(acme.map((f) => f.tenant))).toEqual(new Set(['acme']))
    expect(new Set(globex.map((f) => f.tenant))).toEqual(new Set(['globex']))
    expect(acme.map((f) => f.id).filter((id) => globex.some((g) => g.id === id))).toEqual([])
    const none = await get('/v1/findings/export?format=csv&client=nobody')
    expect(none.body).toBe(`${FINDING_CSV_COLUMNS.join(',')}\r\n`)
    expect((await get('/v1/findings/export', 'initech')).body).toBe('')
    for (const bad of ['format=xml', 'severity=apocalyptic', 'limit=5', 'cursor=x']) {
      const res = await get(`/v1/findings/export?${bad}`)
      expect(res.statusCode, bad).toBe(400)
      expectErrorModel(res, 'ERR_BAD_REQUEST')
    }
    expect((await get('/v1/findings/export', 'acme', [])).statusCode).toBe(403)
  })

  it('reads storage page by page: a page of one gives the same findings', async () => {
    const pages: string[][] = []
    for await (const page of findingPages(storage, 'acme', {}, 1)) pages.push(page.map((f) => f.id))
    const all = (await listed('acme')).map((f) => f.id)
    expect(pages.length).toBeGreaterThanOrEqual(all.length)
    expect(pages.every((p) => p.length <= 1)).toBe(true)
    expect(pages.flat()).toEqual(all)
  })
})

describe(`more findings than a page (${EXPORT_PAGE})`, () => {
  let memoryApp: FastifyInstance
  const total = EXPORT_PAGE * 2 + 3
  beforeAll(async () => {
    const memory = createMemoryRepositories()
    const base = Date.parse('2026-12-01T00:00:00Z')
    await memory.findings.write(
      Array.from({ length: total }, (_, i) => {
        const at = toDateTime64(base + i * 1000)
        return {
          tenant: 'acme',
          finding_id: i.toString(16).padStart(32, '0'),
          rule_id: 'long-lived-token',
          severity: 'medium',
          title: 'Long-lived token',
          keys: { client_id: `c${i}` },
          token_key: '',
          client_id: `c${i}`,
          resource: '',
          evidence: '{}',
          mappings: '{}',
          first_seen: at,
          last_seen: at,
          count: 1,
          updated_at: at,
          version: 1,
        }
      }),
    )
    const asStorage: Storage = {
      ...memory,
      mode: 'embedded',
      database: 'memory',
      close: async () => {},
    }
    memoryApp = await testApp(keys, { storage: asStorage })
  })
  afterAll(() => memoryApp.close())

  it('exports every one once, newest first, in every format', async () => {
    const ndjson = lines((await get('/v1/findings/export', 'acme', ['viewer'], memoryApp)).body)
    expect(ndjson).toHaveLength(total)
    expect(new Set(ndjson.map((f) => f.id)).size).toBe(total)
    expect(ndjson[0]!.id).toBe((total - 1).toString(16).padStart(32, '0'))
    const times = ndjson.map((f) => Date.parse(f.last_seen as string))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    const csv = parseCsv(
      (await get('/v1/findings/export?format=csv', 'acme', ['viewer'], memoryApp)).body,
    )
    expect(csv).toHaveLength(total + 1)
    for (const format of ['ocsf', 'ecs'])
      expect(
        lines(
          (await get(`/v1/findings/export?format=${format}`, 'acme', ['viewer'], memoryApp)).body,
        ),
      ).toHaveLength(total)
  })
})
