/**
 * dpop-proof-replay as a streaming rule: found on the replaying event, across redelivery (one
 * event id read twice is not a replay), across a restart (the proof ids rebuilt from storage) and a
 * hand-off to another evaluator, per tenant, and with a bounded number of proof ids per token.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRuleEvaluator, createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore, findingId } from '../../src/detection/findings-store.js'
import { dpopProofReplay } from '../../src/detection/rules/dpop-proof-replay.js'
import { MAX_PROOFS, PROOF_RETENTION_S } from '../../src/detection/token-state.js'
import { parseEvent } from '../../src/events/parse.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'
import { createLogger } from '../../src/logger.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedEvent } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('dpop_replay_it')
beforeAll(() => migrate(storage, { retention: RETENTION }))
afterAll(closeTestStorages)

const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I'
const fingerprint = () => randomBytes(32).toString('base64url')

/** A DPoP presentation of `jti` with token `tokenJti` at server `server`, `offsetS` from now. */
function presentation(
  tenant: string,
  tokenJti: string,
  jti: string,
  server: string,
  options: { offsetS?: number; decision?: 'accepted' | 'rejected' } = {},
): EventRow {
  const base = presentedEvent()
  const now = Date.now() + (options.offsetS ?? 0) * 1000
  const rejected = options.decision === 'rejected'
  const parsed = parseEvent({
    ...base,
    tenant,
    occurred_at: new Date(now).toISOString(),
    source: { kind: 'mcp_server', id: server },
    token: { ...(base.token as object), jti: tokenJti, cnf: { jkt: JKT } },
    decision: options.decision ?? 'accepted',
    reason: rejected ? 'other' : 'ok',
    http: { method: 'POST', path: '/mcp', status: rejected ? 401 : 200 },
    proof: {
      scheme: 'DPoP',
      verdict: 'valid',
      jti_fingerprint: jti,
      iat: Math.floor(now / 1000),
      htm: 'POST',
      htu: 'https://mcp.example.com/mcp',
      ath: 'match',
      alg: 'ES256',
      jkt: JKT,
    },
  })
  if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
  return toEventRow(parsed.event, { receivedAt: now })
}

function detector() {
  return createStreamingDetector({
    rules: [dpopProofReplay],
    store: createFindingsStore(storage),
    logger: createLogger('silent'),
  })
}

async function finding(tenant: string, tokenKey: string, jti: string) {
  const id = findingId(tenant, dpopProofReplay, { token_key: tokenKey, proof_jti: jti })
  const rs = await storage.client.query({
    query:
      'SELECT severity, count, evidence FROM dpop_replay_it.findings FINAL WHERE finding_id = {id:String}',
    query_params: { id },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ severity: string; count: number; evidence: string }>())[0]
}

const fired = (rows: EventRow[]) =>
  createRuleEvaluator([dpopProofReplay])
    .evaluate(rows)
    .flatMap(([, detections]) => detections)

describe('dpop-proof-replay (streaming)', () => {
  it('fires on the replaying event, naming both presentations', () => {
    const jti = fingerprint()
    const first = presentation('t', 'tok-1', jti, 'mcp-1')
    const replay = presentation('t', 'tok-1', jti, 'mcp-2', { offsetS: 2 })
    const evaluator = createRuleEvaluator([dpopProofReplay])
    expect(evaluator.evaluate([first])).toEqual([])
    const [[ruleId, detections]] = evaluator.evaluate([replay]) as [[string, unknown[]]]
    expect(ruleId).toBe('dpop-proof-replay')
    expect(detections).toEqual([
      expect.objectContaining({
        severity: 'critical',
        keys: { token_key: first.token_key, proof_jti: jti },
        eventIds: [first.event_id, replay.event_id],
        evidence: expect.objectContaining({
          presentations: 2,
          accepted: 2,
          sources: ['mcp-1', 'mcp-2'],
        }),
      }),
    ])
  })

  it('does not take one event read twice for a replay, nor one proof id in two tenants', () => {
    const jti = fingerprint()
    const first = presentation('t', 'tok-2', jti, 'mcp-1')
    expect(fired([first, first, first])).toEqual([])
    expect(fired([first, presentation('other', 'tok-2', jti, 'mcp-2', { offsetS: 1 })])).toEqual([])
    // Outside the window of the first presentation: a reused id, not a replay.
    expect(fired([first, presentation('t', 'tok-2', jti, 'mcp-2', { offsetS: 301 })])).toEqual([])
  })

  it('finds a replay after a restart, from the proof ids rebuilt from storage, and counts it once when read again', async () => {
    const jti = fingerprint()
    const first = presentation('t-restart', 'tok-3', jti, 'mcp-1')
    await insertEventRows(storage, [first])
    const restarted = detector()
    expect(await restarted.warmUp(storage, 3600)).toBeGreaterThan(0)
    // The stored event read again from the last committed offset: not a replay.
    await restarted.process([first])
    expect(await finding('t-restart', first.token_key, jti)).toBeUndefined()
    const replay = presentation('t-restart', 'tok-3', jti, 'mcp-2', {
      offsetS: 1,
      decision: 'rejected',
    })
    await insertEventRows(storage, [replay])
    await restarted.process([replay])
    await restarted.process([replay]) // redelivered
    const f = await finding('t-restart', first.token_key, jti)
    expect(f).toMatchObject({ severity: 'high', count: 2 })
    expect(JSON.parse(f!.evidence)).toMatchObject({
      event_ids: [first.event_id, replay.event_id],
      accepted: 1,
    })
    // Another process started after both were stored: reading the replay again changes nothing.
    const again = detector()
    await again.warmUp(storage, 3600)
    await again.process([replay])
    expect(await finding('t-restart', first.token_key, jti)).toMatchObject({ count: 2 })
  })

  it('hands its proof ids over to another evaluator (the validation worker)', () => {
    const jti = fingerprint()
    const source = createRuleEvaluator([dpopProofReplay])
    source.evaluate([presentation('t', 'tok-4', jti, 'mcp-1')])
    const worker = createRuleEvaluator([dpopProofReplay])
    worker.restore(structuredClone(source.entries()))
    const found = worker.evaluate([presentation('t', 'tok-4', jti, 'mcp-3', { offsetS: 1 })])
    expect(found.flatMap(([, d]) => d)).toHaveLength(1)
  })

  it('keeps at most MAX_PROOFS proof ids per token, and none first seen past the retention', () => {
    const evaluator = createRuleEvaluator([dpopProofReplay])
    const early = presentation('t', 'tok-5', fingerprint(), 'mcp-1', {
      offsetS: -2 * PROOF_RETENTION_S,
    })
    evaluator.evaluate([early])
    const rows = Array.from({ length: MAX_PROOFS * 3 }, (_, i) =>
      presentation('t', 'tok-5', fingerprint(), 'mcp-1', { offsetS: i / 100 }),
    )
    evaluator.evaluate(rows)
    const proofs = evaluator.entries()[0]![1].proofs!
    expect(proofs.size).toBe(MAX_PROOFS)
    expect(proofs.has(early.proof_jti)).toBe(false)
    expect([...proofs.keys()]).toEqual(rows.slice(-MAX_PROOFS).map((r) => r.proof_jti))
  })
})
