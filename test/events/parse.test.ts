import { describe, expect, it } from 'vitest'
import { assertEvent, parseEvent, type AuditEvent } from '../../src/events/index.js'
import { EventValidationError } from '../../src/errors.js'
import { loadExamples } from '../helpers/examples.js'

const presented = () =>
  structuredClone(
    loadExamples('valid').find(([f]) => f === 'token-presented-mcp.json')![1],
  ) as Record<string, unknown>

function reasonsOf(input: unknown): string[] {
  const result = parseEvent(input)
  return result.ok ? [] : result.reasons
}

describe('parseEvent', () => {
  it('applies the defaults for tenant and presented_aud', () => {
    const input = presented()
    delete input.tenant
    delete input.presented_aud
    const result = parseEvent(input)
    expect(result.ok).toBe(true)
    if (result.ok && result.event.event_type === 'token.presented') {
      expect(result.event.tenant).toBe('default')
      expect(result.event.presented_aud).toEqual([])
    }
  })

  it('moves unknown fields, nested ones too, into attributes instead of dropping them', () => {
    const input: Record<string, unknown> = {
      ...presented(),
      deployment: 'blue',
      attributes: { ticket: 'SEC-1' },
    }
    ;(input.token as Record<string, unknown>).kid_hint = { kid: 'abc' }
    ;(input.tool as Record<string, unknown>).arguments_hash = 'h1'
    const event = assertEvent(input) as AuditEvent & Record<string, unknown>
    expect(event.attributes).toEqual({
      deployment: 'blue',
      'token.kid_hint': { kid: 'abc' },
      'tool.arguments_hash': 'h1',
      ticket: 'SEC-1',
    })
    expect(event.deployment).toBeUndefined()
    expect((event.token as Record<string, unknown>).kid_hint).toBeUndefined()
  })

  it('keeps the token confirmation and the proof facts (contract v1, additive), their unknown members in attributes', () => {
    const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I'
    const input: Record<string, unknown> = {
      ...presented(),
      proof: { scheme: 'DPoP', verdict: 'invalid', failure: 'htu_mismatch', jkt, nonce: 'n1' },
    }
    ;(input.token as Record<string, unknown>).cnf = { jkt, kid: 'k1' }
    const event = assertEvent(input)
    expect(event.token?.cnf).toEqual({ jkt })
    expect(event.event_type === 'token.presented' && event.proof).toEqual({
      scheme: 'DPoP',
      verdict: 'invalid',
      failure: 'htu_mismatch',
      jkt,
    })
    expect(event.attributes).toEqual({ 'token.cnf.kid': 'k1', 'proof.nonce': 'n1' })
    // A confirmation that is not a thumbprint is refused, as a bad fingerprint is.
    ;(input.token as Record<string, unknown>).cnf = { jkt: 'abc' }
    expect(reasonsOf(input)).toEqual([
      'token.cnf.jkt: must be a base64url SHA-256 thumbprint (43 characters)',
    ])
  })

  it('keeps an explicit attribute when an unknown field has the same name', () => {
    const event = assertEvent({ ...presented(), x: 'field', attributes: { x: 'explicit' } })
    expect(event.attributes).toEqual({ x: 'explicit' })
  })

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s anywhere', (key) => {
    const json = JSON.stringify(presented()).replace('"tool":{', `"tool":{"${key}":{"polluted":1},`)
    const reasons = reasonsOf(JSON.parse(json))
    expect(reasons).toEqual([`tool.${key}: forbidden key`])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses deep nesting before validating', () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 40; i++) deep = { d: deep }
    expect(reasonsOf({ ...presented(), extra: deep })[0]).toMatch(/nested deeper than 16 levels/)
  })

  it.each([null, 'text', 42, [], true])('refuses a non-object root: %j', (input) => {
    expect(reasonsOf(input)).toEqual(['(root): must be a JSON object'])
  })

  it('requires a token except on a presentation without one', () => {
    const input = presented()
    delete input.token
    expect(reasonsOf(input)).toEqual([
      'token: required (absent only on token.presented with reason missing_token)',
    ])
    expect(reasonsOf({ ...input, reason: 'missing_token', decision: 'rejected' })).toEqual([])
  })

  it('requires jti or fingerprint on a token', () => {
    expect(reasonsOf({ ...presented(), token: { format: 'jwt' } })).toEqual([
      'token: must carry at least one of jti, fingerprint',
    ])
  })

  it('reports every problem at once with its path', () => {
    const reasons = reasonsOf({ ...presented(), decision: 'maybe', reason: 'why', tenant: '' })
    expect(reasons).toHaveLength(3)
    expect(reasons.map((r) => r.split(':')[0]).sort()).toEqual(['decision', 'reason', 'tenant'])
  })

  it('refuses oversized fields and lists', () => {
    expect(
      reasonsOf({ ...presented(), resource: `https://a.example/${'x'.repeat(5000)}` })[0],
    ).toMatch(/^resource: /)
    const aud = Array.from({ length: 65 }, (_, i) => `https://r${i}.example`)
    expect(reasonsOf({ ...presented(), presented_aud: aud })[0]).toMatch(/^presented_aud: /)
  })

  it('refuses too many or too large attributes', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]))
    expect(reasonsOf({ ...presented(), attributes: many })[0]).toMatch(/at most 64 entries/)
    expect(reasonsOf({ ...presented(), blob: 'x'.repeat(20_000) })[0]).toMatch(/bytes of JSON/)
  })

  it('refuses control characters used for log injection', () => {
    expect(reasonsOf({ ...presented(), client_id: 'a\nlevel=error msg=forged' })[0]).toMatch(
      /^client_id: must not contain control characters/,
    )
  })

  it('throws EventValidationError with the reasons from assertEvent', () => {
    expect(() => assertEvent({ ...presented(), decision: 'maybe' })).toThrow(EventValidationError)
    try {
      assertEvent({ ...presented(), decision: 'maybe' })
    } catch (err) {
      expect((err as EventValidationError).code).toBe('ERR_EVENT_INVALID')
      expect((err as EventValidationError).reasons[0]).toMatch(/^decision: /)
    }
  })
})
