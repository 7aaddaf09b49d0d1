/** Sender-constrained coverage per client and per resource equals the ground truth of the events. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exampleEvents, at, token, MCP, API } from '../../src/detection/rules/lib/example-events.js'
import { JKT, validProof } from '../../src/detection/rules/lib/sender-constraint.js'
import { assertEvent } from '../../src/events/parse.js'
import { toEventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { coverageOfRows, senderConstraintCoverage } from '../../src/storage/sender-coverage.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('sender_coverage')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

describe('sender-constrained coverage', () => {
  it('counts bound tokens and proven presentations per client and per resource', async () => {
    const ev = exampleEvents('coverage')
    const bound = (jti: string, aud = MCP) => token({ jti, aud: [aud], cnf: { jkt: JKT } })
    const events = [
      // agent-7: two DPoP-bound tokens at the MCP server, one bearer token at the API.
      ev.issued({ token: bound('at-1') }),
      ev.issued({ token: bound('at-2') }),
      ev.issued({
        token: token({ jti: 'at-3', aud: [API] }),
        requested_resources: [API],
        granted_aud: [API],
      }),
      ev.presented({ occurred_at: at(5), token: bound('at-1'), proof: validProof(5) }),
      ev.presented({ occurred_at: at(6), token: bound('at-1'), proof: validProof(6) }),
      ev.presented({ occurred_at: at(7), token: bound('at-2'), proof: validProof(7) }),
      // The downgrade: accepted, no proof.
      ev.presented({
        occurred_at: at(8),
        token: bound('at-2'),
        proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
      }),
      // A refused presentation counts in no share of accepted ones.
      ev.presented({
        occurred_at: at(9),
        token: bound('at-2'),
        decision: 'rejected',
        reason: 'other',
        proof: validProof(9, { verdict: 'invalid', failure: 'jkt_mismatch' }),
      }),
      ev.presented({
        occurred_at: at(10),
        token: token({ jti: 'at-3', aud: [API] }),
        resource: API,
        presented_aud: [API],
        proof: { scheme: 'Bearer', verdict: 'absent' },
      }),
      // Another client, all bearer.
      ev.presented({ occurred_at: at(11), client_id: 'other', token: token({ jti: 'at-9' }) }),
    ].map((e) => toEventRow(assertEvent(e), { receivedAt: Date.parse(at(20)) }))
    await insertEventRows(storage, events)
    const rows = await senderConstraintCoverage(storage, {
      tenant: 'acme',
      since: at(-60),
      until: at(60),
    })
    expect(rows).toEqual([
      {
        dimension: 'client',
        name: 'agent-7',
        tokens: 3,
        bound_tokens: 2,
        presentations: 5,
        proven_presentations: 3,
      },
      {
        dimension: 'client',
        name: 'other',
        tokens: 1,
        bound_tokens: 0,
        presentations: 1,
        proven_presentations: 0,
      },
      {
        dimension: 'resource',
        name: API,
        tokens: 1,
        bound_tokens: 0,
        presentations: 1,
        proven_presentations: 0,
      },
      {
        dimension: 'resource',
        name: MCP,
        tokens: 3,
        bound_tokens: 2,
        presentations: 5,
        proven_presentations: 3,
      },
    ])
    // The in-memory double (GET /v1/sender-constraint on memory storage) answers the same.
    expect(coverageOfRows(events, { tenant: 'acme', since: at(-60), until: at(60) })).toEqual(rows)
    // Another tenant sees nothing of it.
    expect(
      await senderConstraintCoverage(storage, { tenant: 'other', since: at(-60), until: at(60) }),
    ).toEqual([])
  })
})
