import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateCorpus, type Family } from '../../bench/quality/corpus.js'
import { evaluateCorpus, score, type Alert } from '../../bench/quality/evaluate.js'
import { FAMILIES } from '../../bench/quality/scenarios/index.js'
import { RULES } from '../../src/detection/rules/index.js'
import { parseEvent } from '../../src/events/parse.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// The labeled corpus of bench:detect-quality at a small size: the same generator, the same
// families, the same scoring, every rule through ClickHouse and the scheduler.
const storage = testStorage('quality')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

const NOW = Date.parse('2026-12-07T12:30:00.000Z')

describe('the corpus generator', () => {
  it('gives the same corpus for a seed and another for another seed', () => {
    const a = generateCorpus({ seed: 7, events: 600, families: FAMILIES, now: NOW })
    const b = generateCorpus({ seed: 7, events: 600, families: FAMILIES, now: NOW })
    const c = generateCorpus({ seed: 8, events: 600, families: FAMILIES, now: NOW })
    expect(b.events).toEqual(a.events)
    expect(b.labels).toEqual(a.labels)
    expect(c.events.map((e) => e.event.event_id)).not.toEqual(a.events.map((e) => e.event.event_id))
  })

  it('writes contract events only, in order of receipt, with the wire effects it promises', () => {
    const corpus = generateCorpus({ seed: 3, events: 1500, families: FAMILIES, now: NOW })
    const refused = corpus.events.filter((e) => !parseEvent(e.event).ok)
    expect(refused).toEqual([])
    const received = corpus.events.map((e) => e.receivedAt)
    expect(received).toEqual([...received].sort((x, y) => x - y))
    // Duplicate deliveries of one event id, late deliveries, and arrival out of event order.
    expect(corpus.events.some((e) => e.duplicate)).toBe(true)
    const lateness = corpus.events.map(
      (e) => e.receivedAt - Date.parse(e.event.occurred_at as string),
    )
    expect(Math.max(...lateness)).toBeGreaterThan(60_000)
    const occurred = corpus.events.map((e) => e.event.occurred_at as string)
    expect(occurred).not.toEqual([...occurred].sort())
    // Benign volume near the target, and every attack family labeled.
    expect(corpus.benignEvents).toBeGreaterThan(1500 * 0.7)
    const attackFamilies = FAMILIES.filter((f) => f.kind === 'attack').map((f) => f.id)
    expect([...new Set(corpus.labels.map((l) => l.family))].sort()).toEqual(attackFamilies.sort())
  })

  it('lets a family be added without changing what the others generate', () => {
    const extra: Family = {
      id: 'benign-extra',
      kind: 'benign',
      description: 'nothing',
      weight: 0,
      generate: () => {},
    }
    const a = generateCorpus({ seed: 5, events: 400, families: FAMILIES, now: NOW })
    const b = generateCorpus({ seed: 5, events: 400, families: [extra, ...FAMILIES], now: NOW })
    expect(b.events).toEqual(a.events)
  })
})

describe('scoring', () => {
  const alert = (rule: string, keys: Record<string, string>): Alert => ({
    rule,
    tenant: 'acme',
    keys,
    count: 1,
    evidence: {},
  })
  it('counts true, false and incidental alerts and missed labels per rule', () => {
    const labels = [
      { rule: 'r1', keys: { client_id: 'a' }, family: 'f', instance: 0 },
      { rule: 'r1', keys: { client_id: 'b' }, family: 'f', instance: 1 },
    ]
    const allowed = [{ rule: 'r2', keys: { client_id: 'a' }, family: 'f', instance: 0 }]
    const result = score(
      { labels, allowed, benignEvents: 20_000 },
      [
        alert('r1', { client_id: 'a', resource: 'x' }),
        alert('r1', { client_id: 'c', resource: 'x' }),
        alert('r2', { client_id: 'a' }),
        alert('r2', { client_id: 'd' }),
      ],
      ['r1', 'r2', 'r3'],
    )
    expect(result.scores).toEqual([
      {
        rule: 'r1',
        tp: 1,
        fp: 1,
        fn: 1,
        labels: 2,
        incidental: 0,
        precision: 0.5,
        recall: 0.5,
        fpPer10k: 0.5,
      },
      {
        rule: 'r2',
        tp: 0,
        fp: 1,
        fn: 0,
        labels: 0,
        incidental: 1,
        precision: 0,
        recall: null,
        fpPer10k: 0.5,
      },
      {
        rule: 'r3',
        tp: 0,
        fp: 0,
        fn: 0,
        labels: 0,
        incidental: 0,
        precision: null,
        recall: null,
        fpPer10k: 0,
      },
    ])
    expect(result.missed.map((m) => m.keys)).toEqual([{ client_id: 'b' }])
  })
})

describe('the rules on a small corpus', () => {
  it('find every labeled attack and raise no false alert', async () => {
    const corpus = generateCorpus({ seed: 11, events: 2500, families: FAMILIES })
    const result = await evaluateCorpus(corpus, storage, RULES)
    expect(result.missed).toEqual([])
    expect(result.falseAlerts).toEqual([])
    const labeled = result.scores.filter((s) => s.labels > 0)
    // The families label findings of every rule; each is found.
    expect(labeled.map((s) => s.rule).sort()).toEqual(
      [
        'aud-mismatch-accepted',
        'aud-mismatch-rejected',
        'bound-token-downgrade',
        'client-id-multiple-issuers',
        'cross-audience-replay',
        'delegation-chain-violation',
        'dpop-htu-mismatch',
        'dpop-proof-replay',
        'expired-token-accepted',
        'granted-aud-mismatch',
        'long-lived-token',
        'mcp-tool-header-mismatch',
        'mcp-unvalidated-headers',
        'missing-resource-indicator',
        'multi-audience-token',
        'new-resource-for-client',
        'overbroad-audience',
        'proof-key-mismatch',
        'resource-uri-drift',
        'scope-not-valid-for-resource',
        'sender-binding-dropped',
        'token-multi-source',
        'token-passthrough',
        'token-usage-spike',
        'unvalidated-audience',
      ].sort(),
    )
    expect(labeled.length).toBe(RULES.length)
    for (const s of labeled) expect([s.rule, s.precision, s.recall]).toEqual([s.rule, 1, 1])
  }, 600_000)
})
