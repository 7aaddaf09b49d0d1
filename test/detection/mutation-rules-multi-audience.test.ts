/**
 * multi-audience-token: the audience in its dedup key is the sorted canonical resources joined by
 * one space, so one token shape is one finding whatever the order of `aud`.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { API, MCP, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'
import { multiAudienceToken } from '../../src/detection/rules/multi-audience-token.js'

const ev = exampleEvents('mutation-multi-audience')
const keyOf = (aud: string[]) =>
  runEventExample(multiAudienceToken, {
    name: 't',
    fires: true,
    events: [ev.issued({ token: token({ aud }), requested_resources: aud, granted_aud: aud })],
  } as RuleExample).map((d) => d.keys.audience)

describe('multi-audience-token', () => {
  it('keys a finding by the sorted audiences joined by a space, whatever their order', () => {
    const sorted = [API, MCP].sort().join(' ')
    expect(keyOf([MCP, API])).toEqual([sorted])
    expect(keyOf([API, MCP])).toEqual([sorted])
  })
})
