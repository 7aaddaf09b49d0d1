import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  createRuleEvaluator,
  createStreamingDetector,
  evaluatorFromHandOff,
} from '../../src/detection/engine.js'
import { createException, createExceptionMatcher } from '../../src/detection/exceptions.js'
import { createFindingsStore, findingId, setTriage } from '../../src/detection/findings-store.js'
import type { EventRule } from '../../src/detection/rule.js'
import { rowTime, TOKEN_STATE_COLUMNS } from '../../src/detection/token-state.js'
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { loadQuery } from '../../src/storage/sql.js'
import { presentedEvent } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { NO_MAPPINGS } from '../../src/frameworks/index.js'

const storage = testStorage('engine_it')
beforeAll(() => migrate(storage, { retention: RETENTION }))
afterAll(closeTestStorages)

/** A stateful test rule: fires when a token is presented at a second canonical resource. */
const secondResource: EventRule = {
  kind: 'event',
  id: 'test-second-resource',
  title: 'Token presented at a second resource',
  severity: 'medium',
  description: 'test rule',
  rationale: 'test rule',
  references: [],
  mappings: NO_MAPPINGS,
  falsePositives: [],
  runbook: [],
  params: z.object({ acceptedSeverity: z.enum(['high', 'critical']).default('critical') }),
  dedupKey: ['token_key'],
  dedupWindowS: 3600,
  examples: [],
  evaluate(row, state, ctx) {
    if (row.event_type !== 'token.presented' || !state) return []
    const others = [...state.presentations.keys()].filter((r) => r !== row.resource_canonical)
    if (others.length === 0) return []
    return [
      {
        tenant: row.tenant,
        severity:
          row.decision === 'accepted'
            ? (ctx.params as { acceptedSeverity: 'critical' }).acceptedSeverity
            : undefined,
        keys: { token_key: row.token_key, client_id: row.client_id },
        evidence: { resources: [...others, row.resource_canonical] },
        eventIds: [row.event_id],
        at: rowTime(row.occurred_at),
      },
    ]
  },
}

function row(overrides: Record<string, unknown>): EventRow {
  const parsed = parseEvent(presentedEvent(overrides))
  if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
  return toEventRow(parsed.event, { receivedAt: Date.now() })
}

async function finding(tenant: string, tokenKey: string) {
  const id = findingId(tenant, secondResource, { token_key: tokenKey })
  const rs = await storage.client.query({
    query:
      'SELECT severity, count, keys, evidence FROM engine_it.findings FINAL WHERE finding_id = {id:String}',
    query_params: { id },
    format: 'JSONEachRow',
  })
  return (
    await rs.json<{
      severity: string
      count: number
      keys: Record<string, string>
      evidence: string
    }>()
  )[0]
}

function detector() {
  return createStreamingDetector({
    rules: [secondResource],
    store: createFindingsStore(storage),
    exceptions: createExceptionMatcher(storage, 0),
    logger: createLogger('silent'),
  })
}

describe('the streaming detector', () => {
  it('records a finding once per key, counts distinct events, and keeps the highest severity', async () => {
    const token = { jti: 'tok-a', aud: ['https://a.example'] }
    const a = row({
      tenant: 't1',
      token,
      resource: 'https://a.example',
      presented_aud: ['https://a.example'],
    })
    const b = row({ tenant: 't1', token, resource: 'https://b.example', decision: 'accepted' })
    const c = row({
      tenant: 't1',
      token,
      resource: 'https://c.example',
      decision: 'rejected',
      reason: 'aud_mismatch',
    })
    const d = detector()
    await d.process([a, b, c])
    // The same rows again (a redelivery): nothing changes.
    await d.process([b, c])
    const f = await finding('t1', 'tok-a')
    expect(f).toMatchObject({
      severity: 'critical',
      count: 2,
      keys: { token_key: 'tok-a', client_id: 'agent-7' },
    })
    expect(JSON.parse(f!.evidence).event_ids).toEqual([c.event_id])
  })

  it('rebuilds token state from ClickHouse after a restart', async () => {
    const token = { jti: 'tok-b', aud: ['https://a.example'] }
    const first = row({ tenant: 't2', token, resource: 'https://a.example' })
    await insertEventRows(storage, [first])
    const restarted = detector()
    expect(await restarted.warmUp(storage, 3600)).toBeGreaterThan(0)
    await restarted.process([row({ tenant: 't2', token, resource: 'https://b.example' })])
    expect(await finding('t2', 'tok-b')).toMatchObject({ count: 1 })
  })

  it('rebuilds the stored token state for a worker that replaces a dead one, leaving its own alone', async () => {
    const token = { jti: 'tok-w', aud: ['https://a.example'] }
    const first = row({ tenant: 't2w', token, resource: 'https://a.example' })
    await insertEventRows(storage, [first])
    const d = detector()
    const handOff = d.handOff()
    const states = await d.storedStates(storage, 3600)
    expect(d.states).toBe(0)
    // Read back with only the columns token state reads, it is the state of the row as stored.
    const inProcess = createRuleEvaluator([secondResource])
    inProcess.apply([first])
    expect(states.filter(([key]) => key.startsWith('t2w\u0000'))).toEqual(inProcess.entries())
    // The next presentation at another resource fires with the rebuilt state, and only with it.
    const next = row({ tenant: 't2w', token, resource: 'https://b.example' })
    const fired = (restored: typeof states) =>
      evaluatorFromHandOff({ ...handOff, states: restored }, [secondResource], undefined)
        .evaluate([next])
        .flatMap(([, detections]) => detections)
    expect(fired(states)).toHaveLength(1)
    expect(fired([])).toHaveLength(0)
  })

  it('rebuilds delegation state (scopes, may_act, depth, exchanges) as the stream built it', async () => {
    const now = Date.now()
    const at = (s: number) => new Date(now - 60_000 + s * 1000).toISOString()
    const common = {
      schema_version: 1,
      tenant: 't-chain',
      source: { kind: 'authorization_server', id: 'as' },
      client_id: 'agent',
      requested_resources: [],
    }
    const events = [
      {
        ...common,
        event_id: '00000000-0000-4000-8000-00000000c001',
        event_type: 'token.issued',
        occurred_at: at(0),
        token: { jti: 'root', aud: ['https://mcp.example'] },
        grant_type: 'authorization_code',
        granted_aud: ['https://mcp.example'],
        requested_scopes: ['read'],
        granted_scopes: ['read'],
        attributes: { may_act: { sub: 'mcp' } },
      },
      ...[1, 2].map((n) => ({
        ...common,
        event_id: `00000000-0000-4000-8000-00000000c00${n + 1}`,
        event_type: 'token.exchanged',
        occurred_at: at(n),
        token: { jti: `hop-${n}`, aud: ['https://api.example'], scopes: ['read'] },
        subject_token: { jti: n === 1 ? 'root' : 'hop-1' },
        granted_aud: ['https://api.example'],
      })),
    ]
    const rows = events.map((e) => {
      const parsed = parseEvent(e)
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: now })
    })
    await insertEventRows(storage, rows)
    const inProcess = createRuleEvaluator([secondResource])
    inProcess.evaluate(rows)
    const stored = (await detector().storedStates(storage, 3600)).filter(([k]) =>
      k.startsWith('t-chain\u0000'),
    )
    expect(stored).toEqual(inProcess.entries())
    const byKey = new Map(stored.map(([k, s]) => [k.split('\u0000')[1], s]))
    expect(byKey.get('root')).toMatchObject({
      scopes: ['read'],
      mayAct: { sub: 'mcp' },
      depth: 0,
      exchangedFor: ['https://api.example'],
    })
    expect(byKey.get('hop-2')).toMatchObject({ depth: 2, subjectKey: 'hop-1' })
  })

  it('reads back exactly the columns the token state is typed to read', () => {
    // applyToState takes a TokenStateRow: a column it reads beyond these does not compile, and a
    // column the query does not select would be undefined in the rebuilt state.
    const query = loadQuery('recent-token-events', 'audtrail')
    const selected = /^SELECT\s+([\s\S]*?)\s+FROM\s*\(/m.exec(query)![1]!.split(/,\s*/)
    expect(selected).toEqual([...TOKEN_STATE_COLUMNS])
  })

  it('rebuilds token state from the newest stored events when there are more than it reads', async () => {
    const own = testStorage('engine_newest')
    await migrate(own, { retention: RETENTION })
    const token = { jti: 'tok-n', aud: ['https://r0.example'] }
    const resources = Array.from({ length: 8 }, (_, i) => `https://r${i}.example`)
    await insertEventRows(
      own,
      resources.map((resource, i) =>
        row({
          tenant: 't-newest',
          token,
          resource,
          occurred_at: new Date(Date.now() - (8 - i) * 1000).toISOString(),
        }),
      ),
    )
    // One state kept: four events read, the last four.
    const d = createStreamingDetector({
      rules: [secondResource],
      store: createFindingsStore(own),
      logger: createLogger('silent'),
      maxStates: 1,
    })
    expect(await d.warmUp(own, 3600)).toBe(4)
    const [[, state]] = await d.storedStates(own, 3600)
    expect([...state.presentations.keys()]).toEqual(resources.slice(4))
  })

  it('suppresses a detection matched by an exception until the exception expires', async () => {
    const token = { jti: 'tok-c', aud: ['https://a.example'] }
    await createException(storage, {
      tenant: 't3',
      rule_id: 'test-second-resource',
      match: { client_id: 'agent-7' },
      owner: 'alice@example.com',
      reason: 'known migration',
      expiresAt: Date.now() + 60_000,
    })
    const d = detector()
    await d.process([
      row({ tenant: 't3', token, resource: 'https://a.example' }),
      row({ tenant: 't3', token, resource: 'https://b.example' }),
    ])
    expect(d.suppressed).toBe(1)
    expect(await finding('t3', 'tok-c')).toBeUndefined()

    await createException(storage, {
      tenant: 't4',
      rule_id: '*',
      match: { client_id: 'agent-7' },
      owner: 'bob@example.com',
      reason: 'expired already',
      expiresAt: Date.now() - 1,
    })
    const token4 = { jti: 'tok-d', aud: ['https://a.example'] }
    await d.process([
      row({ tenant: 't4', token: token4, resource: 'https://a.example' }),
      row({ tenant: 't4', token: token4, resource: 'https://b.example' }),
    ])
    expect(await finding('t4', 'tok-d')).toMatchObject({ count: 1 })
  })

  it('keeps at most maxStates token states, evicting the least recently used', async () => {
    const d = createStreamingDetector({
      rules: [secondResource],
      store: createFindingsStore(storage),
      logger: createLogger('silent'),
      maxStates: 10,
    })
    await d.process(
      Array.from({ length: 25 }, (_, i) => row({ tenant: 't5', token: { jti: `t5-${i}` } })),
    )
    expect(d.states).toBe(10)
  })

  it('keeps ingesting when a rule throws', async () => {
    const broken: EventRule = {
      ...secondResource,
      id: 'test-broken',
      evaluate: () => {
        throw new Error('bug')
      },
    }
    const d = createStreamingDetector({
      rules: [broken],
      store: createFindingsStore(storage),
      logger: createLogger('silent'),
    })
    await expect(d.process([row({ tenant: 't6' })])).resolves.toBeUndefined()
    expect(d.states).toBe(1)
  })
})

describe('triage', () => {
  it('keeps the analyst status apart from the detector, and reopens a resolved finding that recurs', async () => {
    const token = { jti: 'tok-tri', aud: ['https://a.example'] }
    const d = detector()
    await d.process([
      row({ tenant: 't7', token, resource: 'https://a.example' }),
      row({ tenant: 't7', token, resource: 'https://b.example' }),
    ])
    const id = findingId('t7', secondResource, { token_key: 'tok-tri' })
    const status = async () => (await storage.findings.status('t7', id))!
    expect(await status()).toMatchObject({ status: 'open', count: 1 })
    await setTriage(storage, 't7', id, { status: 'resolved', note: 'rotated the key', by: 'alice' })
    expect(await status()).toMatchObject({ status: 'resolved', note: 'rotated the key' })
    await new Promise((r) => setTimeout(r, 5))
    await d.process([row({ tenant: 't7', token, resource: 'https://c.example' })])
    expect(await status()).toMatchObject({ status: 'open', count: 2, note: 'rotated the key' })
    await expect(
      setTriage(storage, 't7', id, { status: 'closed' as never, by: 'alice' }),
    ).rejects.toThrow(TypeError)
  })
})
