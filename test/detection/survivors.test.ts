import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertEvent } from '../../src/events/parse.js'
import { runEventExample, runExample } from '../../src/detection/examples.js'
import type { EventRule, Rule, RuleExample } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import { API, at, exampleEvents, MCP, token } from '../../src/detection/rules/lib/example-events.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'
import { toEventRow } from '../../src/events/event-row.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// Behaviours an outside mutation audit found untested: one test each, through the rules' own
// evaluation path (runExample), as test/detection/rules.test.ts runs the examples.
const storage = testStorage('rules_survivors')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

function rule(id: string): Rule {
  const found = RULES.find((r) => r.id === id)
  if (!found) throw new Error(`no rule ${id}`)
  return found
}

function eventRule(id: string): EventRule {
  const found = rule(id)
  if (found.kind !== 'event') throw new Error(`${id} is not an event rule`)
  return found
}

let n = 0
async function run(id: string, example: Omit<RuleExample, 'name' | 'fires'>) {
  const r = rule(id)
  return runExample(r, { name: `survivor ${++n}`, fires: true, ...example }, storage, `sv-${n}`)
}

describe('cross-audience-replay', () => {
  it('escalates to critical when a resource outside the audience first rejects, then accepts', async () => {
    const ev = exampleEvents('survivors-cross-audience-replay')
    const atApi = {
      source: { kind: 'resource_server', id: 'api' },
      resource: API,
    }
    const detections = await run('cross-audience-replay', {
      events: [
        ev.issued(),
        ev.presented(),
        ev.presented({
          ...atApi,
          occurred_at: at(30),
          decision: 'rejected',
          reason: 'aud_mismatch',
        }),
        ev.presented({ ...atApi, occurred_at: at(60), aud_validated: false }),
      ],
    })
    expect(detections.map((d) => d.severity)).toEqual(['high', 'critical'])
    expect(detections[1]!.keys).toEqual({
      token_key: expect.any(String),
      resource: API,
      client_id: 'agent-7',
    })
    expect(detections[1]!.evidence.accepted_outside).toBe(true)
  })
})

describe('expired-token-accepted', () => {
  const ev = exampleEvents('survivors-expired-token-accepted')
  // token() expires 900 s after the base time; the default leeway is 60 s.
  it('stays silent exactly at the leeway past exp', async () => {
    expect(
      await run('expired-token-accepted', { events: [ev.presented({ occurred_at: at(960) })] }),
    ).toEqual([])
  })

  it('fires one second beyond the leeway', async () => {
    const detections = await run('expired-token-accepted', {
      events: [ev.presented({ occurred_at: at(961) })],
    })
    expect(detections).toHaveLength(1)
    expect(detections[0]!.evidence.seconds_past_exp).toBe(61)
  })
})

describe('multi-audience-token', () => {
  it('fires when only one of the audiences is registered as multi-audience', async () => {
    const ev = exampleEvents('survivors-multi-audience-token')
    const detections = await run('multi-audience-token', {
      registry: [
        { resource: MCP, multi_audience_allowed: true },
        { resource: API, multi_audience_allowed: false },
      ],
      events: [
        ev.issued({
          token: token({ aud: [MCP, API] }),
          requested_resources: [MCP, API],
          granted_aud: [MCP, API],
        }),
      ],
    })
    expect(detections).toHaveLength(1)
    expect(detections[0]!.evidence.not_allowed).toEqual([API])
  })
})

describe('token-usage-spike', () => {
  it('stays silent on a small rise over a busy, steady baseline with the default threshold', async () => {
    const ev = exampleEvents('survivors-token-usage-spike')
    // Around 20 requests a minute (median 20, MAD 1), then 24: robust z = 0.6745 * 4 = 2.7,
    // under the default 3.5 but well over minEvents, so only the threshold keeps it silent.
    const perMinute = [18, 20, 22, 20, 19, 21, 20, 18, 22, 20, 21, 19, 24]
    const events = perMinute.flatMap((count, i) =>
      Array.from({ length: count }, (_, j) =>
        ev.presented({ occurred_at: at(i * 60 + j), token: token({ jti: `at-${i}` }) }),
      ),
    )
    const detections = await run('token-usage-spike', {
      params: { intervalS: 60, baselineIntervals: 30, minHistoryIntervals: 10 },
      events,
    })
    expect(detections).toEqual([])
    // The same series with a real jump still fires: the silence above is the threshold's.
    const jump = await run('token-usage-spike', {
      params: { intervalS: 60, baselineIntervals: 30, minHistoryIntervals: 10 },
      events: [
        ...events.filter((e) => (e.occurred_at as string) < at(12 * 60)),
        ...Array.from({ length: 40 }, (_, j) =>
          ev.presented({ occurred_at: at(12 * 60 + j), token: token({ jti: 'at-jump' }) }),
        ),
      ],
    })
    expect(jump).toHaveLength(1)
  })
})

describe('missing-resource-indicator', () => {
  it('fires on a token exchange without resource', async () => {
    const ev = exampleEvents('survivors-missing-resource-indicator')
    const detections = await run('missing-resource-indicator', {
      events: [ev.exchanged({ requested_resources: [] })],
    })
    expect(detections).toHaveLength(1)
    expect(detections[0]!.keys).toEqual({ client_id: 'agent-7', event_type: 'token.exchanged' })
  })
})

describe('aud-mismatch-accepted', () => {
  it('uses the registry at evaluation time: an alias added by a reload stops findings on rows stored as different', () => {
    const r = eventRule('aud-mismatch-accepted')
    const ev = exampleEvents('survivors-aud-mismatch-accepted')
    const event = assertEvent(
      ev.presented({
        token: token({ aud: ['api://files-mcp'] }),
        presented_aud: ['api://files-mcp'],
      }),
    )
    // Stored before the alias was known: no aliases at canonicalization.
    const row = toEventRow(event, { receivedAt: Date.parse(event.occurred_at) })
    expect(row.aud_match).toBe('different')
    const params = r.params.parse({})
    // Without a registry the stored comparison stands and the rule fires.
    expect(r.evaluate(row, undefined, { params })).toHaveLength(1)
    const reloaded = parseResourceRegistry([{ resource: MCP, aliases: ['api://files-mcp'] }])
    expect(r.evaluate(row, undefined, { params, registry: reloaded })).toEqual([])
    // Sanity: the example path (rows canonicalized with the aliases) agrees.
    expect(
      runEventExample(r, {
        name: 'alias',
        fires: false,
        registry: [{ resource: MCP, aliases: ['api://files-mcp'] }],
        events: [
          ev.presented({
            token: token({ aud: ['api://files-mcp'] }),
            presented_aud: ['api://files-mcp'],
          }),
        ],
      }),
    ).toEqual([])
  })
})
