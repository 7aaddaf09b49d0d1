/**
 * Triage with history (issue 23, item 4): PATCH and bulk triage record who changed which field,
 * when, from and to; findings answer updated_by / updated_at and the exception covering them;
 * exceptions on keys their rule's findings never carry are refused. Two tenants share a token
 * key and client, so every answer is checked for the other tenant's data.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BULK_TRIAGE_LIMIT } from '../../src/api/routes/triage.js'
import { RULES } from '../../src/detection/rules/index.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import type { Storage } from '../../src/storage/client.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { seedSharedKeyReplays } from '../helpers/replays.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { expectErrorModel } from './documented-errors.js'

const storage = testStorage('api_triage')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

/** Each tenant: accepted audience mismatches of one token at two resources (same keys in both). */
async function seed() {
  await seedSharedKeyReplays(storage, { clientId: 'agent-7' })
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

interface Finding {
  id: string
  rule_id: string
  tenant: string
  status: string
  note: string
  assignee: string
  keys: Record<string, string>
  updated_by: string | null
  updated_at: string | null
  exception: { id: string; reason: string } | null
  history?: { at: string; by: string; field: string; from: string; to: string }[]
}

async function call(
  method: 'GET' | 'PATCH' | 'POST',
  url: string,
  who: { tenant: string; roles?: string[]; sub?: string },
  payload?: object,
  on: FastifyInstance = app,
) {
  const token = await keys.token({
    roles: who.roles ?? ['analyst'],
    tenant: who.tenant,
    ...(who.sub ? { sub: who.sub } : {}),
  })
  return on.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload ? { payload } : {}),
  })
}

const list = async (tenant: string, query = 'rule=aud-mismatch-accepted') =>
  (await call('GET', `/v1/findings?limit=100&${query}`, { tenant })).json().items as Finding[]

describe('PATCH /v1/findings/{id}: history', () => {
  it('records each changed field with who, when, from and to, oldest first', async () => {
    const [finding] = await list('acme')
    expect(finding).toMatchObject({ updated_by: null, updated_at: null, exception: null })
    const before = Date.now()
    const first = await call(
      'PATCH',
      `/v1/findings/${finding!.id}`,
      { tenant: 'acme', sub: 'alice' },
      {
        status: 'acknowledged',
        assignee: 'alice',
      },
    )
    expect(first.statusCode, first.body).toBe(200)
    const second = await call(
      'PATCH',
      `/v1/findings/${finding!.id}`,
      { tenant: 'acme', sub: 'bob' },
      {
        note: 'token rotated',
        assignee: 'alice',
      },
    )
    expect(second.statusCode).toBe(200)
    // The same values again: nothing changes, nothing is recorded.
    await call(
      'PATCH',
      `/v1/findings/${finding!.id}`,
      { tenant: 'acme', sub: 'carol' },
      {
        status: 'acknowledged',
      },
    )
    const got = (
      await call('GET', `/v1/findings/${finding!.id}`, { tenant: 'acme' })
    ).json() as Finding
    expect(got).toMatchObject({
      status: 'acknowledged',
      assignee: 'alice',
      note: 'token rotated',
      updated_by: 'bob',
    })
    expect(Date.parse(got.updated_at!)).toBeGreaterThanOrEqual(before - 1)
    expect(got.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    const changes = got.history!.map(({ by, field, from, to }) => ({ by, field, from, to }))
    // alice's two changes share an instant (in either order), before bob's.
    expect(changes.slice(0, 2)).toEqual(
      expect.arrayContaining([
        { by: 'alice', field: 'status', from: 'open', to: 'acknowledged' },
        { by: 'alice', field: 'assignee', from: '', to: 'alice' },
      ]),
    )
    expect(changes[2]).toEqual({ by: 'bob', field: 'note', from: '', to: 'token rotated' })
    expect(got.history).toHaveLength(3)
    const times = got.history!.map((h) => Date.parse(h.at))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    // The PATCH answer carries the history too.
    expect((second.json() as Finding).history).toHaveLength(3)
  })

  it('another tenant neither sees nor changes the finding, and keeps its own history', async () => {
    const [acme] = await list('acme')
    const globexCall = await call(
      'PATCH',
      `/v1/findings/${acme!.id}`,
      { tenant: 'globex' },
      {
        status: 'resolved',
      },
    )
    expect(globexCall.statusCode).toBe(404)
    expectErrorModel(globexCall, 'ERR_NOT_FOUND')
    expect((await call('GET', `/v1/findings/${acme!.id}`, { tenant: 'globex' })).statusCode).toBe(
      404,
    )
    const globex = await list('globex')
    expect(globex.length).toBeGreaterThan(0)
    for (const f of globex) {
      expect(f).toMatchObject({ tenant: 'globex', updated_by: null, status: 'open' })
      const one = (
        await call('GET', `/v1/findings/${f.id}`, { tenant: 'globex' })
      ).json() as Finding
      expect(one.history).toEqual([])
    }
  })

  it('a viewer may not triage', async () => {
    const [f] = await list('acme')
    const res = await call(
      'PATCH',
      `/v1/findings/${f!.id}`,
      { tenant: 'acme', roles: ['viewer'] },
      {
        status: 'resolved',
      },
    )
    expect(res.statusCode).toBe(403)
  })
})

describe('POST /v1/findings/triage', () => {
  const bulk = (tenant: string, body: object, roles = ['analyst']) =>
    call('POST', '/v1/findings/triage', { tenant, roles, sub: 'dana' }, body)

  it('counts in a dry run and changes nothing', async () => {
    const expected = (await list('globex')).length
    const res = await bulk('globex', {
      filter: { rule: 'aud-mismatch-accepted' },
      set: { status: 'false_positive' },
      dry_run: true,
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ matched: expected, updated: 0, limit: BULK_TRIAGE_LIMIT })
    expect((await list('globex')).every((f) => f.status === 'open')).toBe(true)
  })

  it("changes every match of the caller's tenant, records history, and only once", async () => {
    const acmeBefore = await list('acme')
    const res = await bulk('globex', {
      filter: { rule: 'aud-mismatch-accepted', client: 'agent-7' },
      set: { status: 'false_positive', note: 'lab traffic' },
    })
    expect(res.statusCode, res.body).toBe(200)
    const globex = await list('globex')
    expect(res.json()).toEqual({
      matched: globex.length,
      updated: globex.length,
      limit: BULK_TRIAGE_LIMIT,
    })
    for (const f of globex) {
      expect(f).toMatchObject({ status: 'false_positive', note: 'lab traffic', updated_by: 'dana' })
      const one = (
        await call('GET', `/v1/findings/${f.id}`, { tenant: 'globex' })
      ).json() as Finding
      expect(one.history!.map((h) => [h.field, h.from, h.to])).toEqual(
        expect.arrayContaining([
          ['status', 'open', 'false_positive'],
          ['note', '', 'lab traffic'],
        ]),
      )
      expect(one.history).toHaveLength(2)
    }
    // acme's findings with the same keys are untouched.
    expect(await list('acme')).toEqual(acmeBefore)
    // Again: everything is so already.
    const again = await bulk('globex', {
      filter: { rule: 'aud-mismatch-accepted' },
      set: { status: 'false_positive' },
    })
    expect(again.json()).toMatchObject({ matched: globex.length, updated: 0 })
  })

  it('filters as the list does, refuses bad filters and viewers', async () => {
    const none = await bulk('acme', {
      filter: { rule: 'aud-mismatch-accepted', client: 'nobody' },
      set: { status: 'resolved' },
    })
    expect(none.json()).toMatchObject({ matched: 0, updated: 0 })
    for (const body of [
      { filter: { severity: 'apocalyptic' }, set: { status: 'resolved' } },
      { filter: {}, set: {} },
      { filter: { limit: 5 }, set: { status: 'resolved' } },
      { filter: {}, set: { status: 'closed' } },
    ]) {
      const res = await bulk('acme', body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expectErrorModel(res, 'ERR_BAD_REQUEST')
    }
    expect(
      (await bulk('acme', { filter: {}, set: { status: 'resolved' } }, ['viewer'])).statusCode,
    ).toBe(403)
  })
})

describe(`bulk triage is bounded to ${BULK_TRIAGE_LIMIT} findings a call`, () => {
  let memoryApp: FastifyInstance
  const memory = createMemoryRepositories()
  beforeAll(async () => {
    const at = toDateTime64(Date.now())
    const finding = (tenant: string, i: number) => ({
      tenant,
      finding_id: `${tenant === 'acme' ? 'a' : 'b'}${String(i).padStart(31, '0')}`,
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
    })
    await memory.findings.write(
      Array.from({ length: BULK_TRIAGE_LIMIT + 1 }, (_, i) => finding('acme', i)),
    )
    await memory.findings.write(Array.from({ length: 3 }, (_, i) => finding('globex', i)))
    const asStorage: Storage = {
      ...memory,
      mode: 'embedded',
      database: 'memory',
      close: async () => {},
    }
    memoryApp = await testApp(keys, { storage: asStorage })
  })
  afterAll(() => memoryApp.close())

  it('refuses a filter matching more, changing nothing; a dry run counts them all', async () => {
    const body = { filter: { rule: 'long-lived-token' }, set: { status: 'acknowledged' } }
    const refused = await call('POST', '/v1/findings/triage', { tenant: 'acme' }, body, memoryApp)
    expect(refused.statusCode).toBe(400)
    expect(expectErrorModel(refused, 'ERR_BAD_REQUEST').message).toContain(
      String(BULK_TRIAGE_LIMIT),
    )
    expect(memory.tables.triage).toEqual([])
    const counted = await call(
      'POST',
      '/v1/findings/triage',
      { tenant: 'acme' },
      { ...body, dry_run: true },
      memoryApp,
    )
    expect(counted.json()).toEqual({
      matched: BULK_TRIAGE_LIMIT + 1,
      updated: 0,
      limit: BULK_TRIAGE_LIMIT,
    })
    const globex = await call('POST', '/v1/findings/triage', { tenant: 'globex' }, body, memoryApp)
    expect(globex.json()).toMatchObject({ matched: 3, updated: 3 })
    expect(new Set(memory.tables.triage.map((t) => t.tenant))).toEqual(new Set(['globex']))
  })
})

describe('exceptions', () => {
  const exception = (match: Record<string, string>, rule_id = 'aud-mismatch-accepted') => ({
    rule_id,
    match,
    owner: 'secops',
    reason: 'staging agent',
    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  })

  it('refuses match keys the rule never carries, listing the allowed keys', async () => {
    const res = await call(
      'POST',
      '/v1/exceptions',
      { tenant: 'acme', roles: ['admin'] },
      exception({ colour: 'red' }),
    )
    expect(res.statusCode).toBe(400)
    const message = expectErrorModel(res, 'ERR_BAD_REQUEST').message
    const rule = RULES.find((r) => r.id === 'aud-mismatch-accepted')!
    expect(message).toContain('colour')
    for (const key of rule.dedupKey) expect(message).toContain(key)
    const any = await call(
      'POST',
      '/v1/exceptions',
      { tenant: 'acme', roles: ['admin'] },
      exception({ colour: 'red' }, '*'),
    )
    expect(any.statusCode).toBe(400)
    expect(any.json().message).toContain('client_id')
  })

  it('names the exception covering a finding, in its tenant only', async () => {
    const [target] = await list('acme')
    const created = await call(
      'POST',
      '/v1/exceptions',
      { tenant: 'acme', roles: ['admin'] },
      exception({ token_key: target!.keys.token_key!, resource: target!.keys.resource! }),
    )
    expect(created.statusCode, created.body).toBe(201)
    const id = created.json().id as string
    const acme = await list('acme')
    const covered = acme.filter((f) => f.exception !== null)
    expect(covered.map((f) => f.id)).toEqual([target!.id])
    expect(covered[0]!.exception).toEqual({ id, reason: 'staging agent' })
    const one = (
      await call('GET', `/v1/findings/${target!.id}`, { tenant: 'acme' })
    ).json() as Finding
    expect(one.exception).toEqual({ id, reason: 'staging agent' })
    // globex has a finding with the very same keys: not covered by acme's exception.
    const twin = (await list('globex')).find(
      (f) =>
        f.keys.token_key === target!.keys.token_key && f.keys.resource === target!.keys.resource,
    )
    expect(twin).toBeDefined()
    expect(twin!.exception).toBeNull()
  })
})
