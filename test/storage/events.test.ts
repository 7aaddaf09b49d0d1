import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseEvent, type AuditEvent } from '../../src/events/index.js'
import { CHAIN_COLUMNS } from '../../src/storage/integrity-chain.js'
import {
  EVENT_COLUMNS,
  fromEventRow,
  toEventRow,
  type EventRow,
} from '../../src/events/event-row.js'
import {
  decodeEvents,
  ENCODED_COLUMNS,
  encodeEventRow,
  encodeEvents,
  getEventRow,
  insertEncodedEvents,
  insertEventRows,
} from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { loadExamples } from '../helpers/examples.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('events_roundtrip')
// The encoded-insert tests write here: the round-trip tests count every row of theirs.
const encoded = testStorage('events_encoded')
const RECEIVED = Date.parse('2026-11-22T10:05:00.250Z')

function parsed(file: string): AuditEvent {
  const example = loadExamples('valid').find(([f]) => f === file)
  if (!example) throw new Error(`no example ${file}`)
  const result = parseEvent(structuredClone(example[1]))
  if (!result.ok) throw new Error(result.reasons.join('; '))
  return result.event
}

async function count(query: string, params: Record<string, unknown> = {}): Promise<number> {
  const rs = await storage.client.query({ query, query_params: params, format: 'JSONEachRow' })
  return Number((await rs.json<{ c: number }>())[0]!.c)
}

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  await migrate(encoded, { retention: RETENTION })
  const rows = loadExamples('valid').map(([f]) => toEventRow(parsed(f), { receivedAt: RECEIVED }))
  await insertEventRows(storage, rows, { dedupToken: 'examples-batch-1' })
})
afterAll(closeTestStorages)

describe('events written to ClickHouse', () => {
  it.each(loadExamples('valid').map(([f]) => f))('%s reads back field for field', async (file) => {
    const event = parsed(file)
    const row = await getEventRow(storage, event.tenant, event.event_id)
    expect(row).toBeDefined()
    expect(fromEventRow(row!)).toEqual(event)
    expect(row!.received_at).toBe('2026-11-22 10:05:00.250')
  })

  it('carry the derived columns: token key, canonical forms, drift keys and aud match', async () => {
    const event = parsed('token-presented-mcp.json')
    const row = (await getEventRow(storage, event.tenant, event.event_id))!
    expect(row.token_key).toBe('at-1f3c')
    expect(row.token_key_kind).toBe('jti')
    expect(row.resource_canonical).toBe('https://mcp.example.com/mcp')
    expect(row.resource_drift_key).toBe('https://mcp.example.com/mcp')
    expect(row.presented_aud_canonical).toEqual(['https://mcp.example.com/mcp'])
    expect(row.aud_match).toBe('identical')
    const opaque = parsed('token-presented-with-extra-fields.json')
    const opaqueRow = (await getEventRow(storage, opaque.tenant, opaque.event_id))!
    expect(opaqueRow.token_key_kind).toBe('fingerprint')
    expect(opaqueRow.token_key).toBe(opaque.token!.fingerprint)
    expect(opaqueRow.aud_match).toBe('')
    expect(opaqueRow.attributes).toEqual({
      deployment: '"blue"',
      'source.region': '"eu-west-1"',
      ticket: '"SEC-12"',
    })
  })

  it('are encoded with every column of the table, each value in its column', async () => {
    const rs = await storage.client.query({
      query: `SELECT name FROM system.columns WHERE database = 'events_roundtrip' AND table = 'events'`,
      format: 'JSONEachRow',
    })
    const tableColumns = (await rs.json<{ name: string }>()).map((c) => c.name)
    // The integrity chain's columns are written by the chained insert (src/integrity/chainer.ts).
    expect([...EVENT_COLUMNS, ...CHAIN_COLUMNS].sort()).toEqual([...tableColumns].sort())
    const row = toEventRow(parsed('token-exchanged.json'), { receivedAt: RECEIVED })
    expect([...EVENT_COLUMNS].sort()).toEqual(Object.keys(row).sort())
    // A row whose every column holds a value of its own: a value at the wrong position shows.
    const distinct = Object.fromEntries(
      EVENT_COLUMNS.map((c, i) => {
        const v = row[c]
        // received_at keeps its form: it is overwritten in place (see the next test).
        const text = c === 'received_at' ? v : `${c}-${i}`
        const own = typeof v === 'string' ? text : Array.isArray(v) ? [`${c}-${i}`] : v
        return [c, own]
      }),
    ) as unknown as EventRow
    expect(JSON.parse(encodeEventRow(distinct))).toEqual(ENCODED_COLUMNS.map((c) => distinct[c]))
    expect([...ENCODED_COLUMNS].sort()).toEqual([...EVENT_COLUMNS].sort())
    // Encoded and decoded again, the rows are as they were.
    const other = {
      ...distinct,
      tenant: 'é 漢字 \ud83d\ude00',
      received_at: '2020-01-01 00:00:00.000',
    }
    const events = encodeEvents([distinct, other])
    expect(decodeEvents(events)).toEqual([distinct, other])
    expect(events.starts).toHaveLength(3)
    expect(events.starts[2]).toBe(events.body.byteLength)
  })

  it('raise received_at to the insert floor in place, never lower it, on every line', async () => {
    const late = toEventRow(parsed('token-exchanged.json'), { receivedAt: Date.UTC(2031, 0, 1) })
    const early = {
      ...late,
      event_id: '00000000-0000-4000-8000-0000000000e1',
      tenant: 'é-tenant',
      received_at: '2020-01-01 00:00:00.000',
    }
    const events = encodeEvents([early, late])
    await insertEncodedEvents(encoded, events, undefined, {
      receivedNotBefore: '2030-01-01 00:00:00.000',
    })
    const [a, b] = decodeEvents(events)
    expect(a!.received_at).toBe('2030-01-01 00:00:00.000')
    expect(b!.received_at).toBe(late.received_at)
    expect({ ...a, received_at: early.received_at }).toEqual(early)
    const rs = await encoded.client.query({
      query: `SELECT event_id, toString(received_at) AS at FROM events_encoded.events
              WHERE event_id IN ({ids:Array(String)}) ORDER BY at`,
      query_params: { ids: [early.event_id, late.event_id] },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { event_id: early.event_id, at: '2030-01-01 00:00:00.000' },
      { event_id: late.event_id, at: late.received_at },
    ])
  })

  it('insert only the lines asked for', async () => {
    const base = toEventRow(parsed('token-presented-mcp.json'), { receivedAt: RECEIVED })
    const rows = [
      '00000000-0000-4000-8000-000000000001',
      '00000000-0000-4000-8000-000000000002',
      '00000000-0000-4000-8000-000000000003',
    ].map((id) => ({
      ...base,
      tenant: 'subset',
      event_id: id,
    }))
    await insertEncodedEvents(encoded, encodeEvents(rows), [2, 0])
    const rs = await encoded.client.query({
      query: `SELECT event_id FROM events_encoded.events WHERE tenant = 'subset' ORDER BY event_id`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { event_id: rows[0]!.event_id },
      { event_id: rows[2]!.event_id },
    ])
  })

  it('store hostile text as it was: quotes, backslashes, line breaks, brackets, unicode', async () => {
    const hostile = [
      'a"b\\c\n],["x\t\u0000y',
      "it's '); DROP TABLE events; --",
      '\u2028\u2029 \ud83d\ude00 é 漢字',
    ]
    const base = parsed('token-presented-mcp.json')
    const event = {
      ...base,
      tenant: 'hostile',
      event_id: '0192e7a4-8f6e-7c3e-9b1a-3f5e2d4c6b42',
      subject: hostile[0],
      presented_aud: hostile,
      attributes: { note: hostile[1], 'k"]': hostile[2] },
    } as AuditEvent
    const row = toEventRow(event, { receivedAt: RECEIVED })
    await insertEventRows(storage, [row])
    const back = (await getEventRow(storage, 'hostile', event.event_id))!
    expect(back.subject).toBe(hostile[0])
    expect(back.presented_aud).toEqual(hostile)
    expect(back.attributes).toEqual(row.attributes)
  })

  it('classify a drifted presented aud as a variant and keep both raw forms', async () => {
    const base = parsed('token-presented-mcp.json')
    const drifted = {
      ...base,
      event_id: '0192e7a4-8f6e-7c3e-9b1a-3f5e2d4c6b99',
      resource: 'https://MCP.example.com/mcp/',
      presented_aud: ['http://mcp.example.com/mcp'],
    } as AuditEvent
    await insertEventRows(storage, [toEventRow(drifted, { receivedAt: RECEIVED })])
    const row = (await getEventRow(storage, drifted.tenant, drifted.event_id))!
    expect(row.resource).toBe('https://MCP.example.com/mcp/')
    expect(row.resource_canonical).toBe('https://mcp.example.com/mcp/')
    expect(row.presented_aud).toEqual(['http://mcp.example.com/mcp'])
    expect(row.aud_match).toBe('variant')
    expect(row.resource_drift_key).toBe(row.presented_aud_drift[0])
  })

  it('land once when the same batch is inserted again with the same dedup token', async () => {
    const rows = loadExamples('valid').map(([f]) => toEventRow(parsed(f), { receivedAt: RECEIVED }))
    await insertEventRows(storage, rows, { dedupToken: 'examples-batch-1' })
    const ids = rows.map((r) => `'${r.event_id}'`).join(',')
    expect(
      await count(`SELECT count() c FROM events_roundtrip.events WHERE event_id IN (${ids})`),
    ).toBe(rows.length)
    // The rollups are fed by materialized views: they must not count the repeated insert either.
    expect(
      await count(
        "SELECT sum(events) c FROM events_roundtrip.resource_usage_daily WHERE role = 'resource_server' AND resource_raw = 'https://api.example.com'",
      ),
    ).toBe(2)
  })

  it('collapse a redelivered event written in another batch when read with FINAL', async () => {
    const event = { ...parsed('token-issued.json'), tenant: 'redelivery' } as AuditEvent
    await insertEventRows(storage, [toEventRow(event, { receivedAt: RECEIVED })])
    await insertEventRows(storage, [toEventRow(event, { receivedAt: RECEIVED + 60_000 })])
    await storage.client.command({ query: 'OPTIMIZE TABLE events_roundtrip.events FINAL' })
    expect(
      await count(
        "SELECT count() c FROM events_roundtrip.events FINAL WHERE tenant = 'redelivery' AND event_id = {id:UUID}",
        { id: event.event_id },
      ),
    ).toBe(1)
  })

  it('feed the per-client rollup with events and distinct tokens per resource', async () => {
    const rs = await storage.client.query({
      query: `SELECT event_type, resource_canonical, sum(events) AS events, uniqMerge(tokens) AS tokens
              FROM events_roundtrip.client_usage_daily
              WHERE tenant = {tenant:String} AND client_id = {client:String}
              GROUP BY event_type, resource_canonical ORDER BY event_type, resource_canonical`,
      query_params: { tenant: 'acme', client: 'agent-7' },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      {
        // No token exists yet at the authorization endpoint: no token counted (migration 0010;
        // the empty key counted as one before).
        event_type: 'authorization.requested',
        resource_canonical: 'https://mcp.example.com/mcp',
        events: 1,
        tokens: 0,
      },
      {
        event_type: 'token.exchanged',
        resource_canonical: 'https://api.example.com',
        events: 1,
        tokens: 1,
      },
      {
        event_type: 'token.issued',
        resource_canonical: 'https://mcp.example.com/mcp',
        events: 1,
        tokens: 1,
      },
      {
        event_type: 'token.presented',
        resource_canonical: 'https://mcp.example.com/mcp',
        events: 1,
        tokens: 1,
      },
      {
        event_type: 'token.presented',
        resource_canonical: 'https://mcp.example.com/mcp/',
        events: 1,
        tokens: 1,
      },
    ])
  })
})
