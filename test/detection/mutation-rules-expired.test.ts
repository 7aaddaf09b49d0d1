/**
 * expired-token-accepted: what its mutation run found untested (docs/design/mutation.md). A token
 * whose expiry nobody knows is not judged; the evidence says when it expired; the leeway cannot
 * be negative; its findings are critical.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { expiredTokenAccepted } from '../../src/detection/rules/expired-token-accepted.js'
import {
  at,
  BASE_EPOCH_S,
  exampleEvents,
  token,
} from '../../src/detection/rules/lib/example-events.js'

const ev = exampleEvents('mutation-expired')
const run = (events: Record<string, unknown>[], params: Record<string, unknown> = {}) =>
  runEventExample(expiredTokenAccepted, { name: 't', fires: true, params, events } as RuleExample)

describe('expired-token-accepted', () => {
  it('does not judge a token whose expiry is unknown (no exp presented, no issuance seen)', () => {
    const { exp: _, ...noExp } = token()
    expect(run([ev.presented({ occurred_at: at(100_000), token: noExp })])).toEqual([])
  })

  it('takes the expiry from the issuance when the presented token has none, and reports it', () => {
    const exp = BASE_EPOCH_S + 600
    const { exp: _, ...noExp } = token()
    const found = run([
      ev.issued({ token: token({ exp }) }),
      ev.presented({ occurred_at: at(600 + 61), token: noExp }),
    ])
    expect(found).toHaveLength(1)
    expect(found[0]!.evidence).toMatchObject({
      exp: new Date(exp * 1000).toISOString(),
      seconds_past_exp: 61,
      clock_skew_s: 60,
    })
    expect(found[0]!.severity ?? expiredTokenAccepted.severity).toBe('critical')
  })

  it('refuses a negative leeway and accepts zero', () => {
    expect(() => expiredTokenAccepted.params.parse({ clockSkewS: -1 })).toThrow()
    expect(expiredTokenAccepted.params.parse({ clockSkewS: 0 }).clockSkewS).toBe(0)
    expect(expiredTokenAccepted.params.parse({}).clockSkewS).toBe(60)
  })
})
