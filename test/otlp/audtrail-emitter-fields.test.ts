/**
 * The `audtrail.*` attributes added so the emitter's OTLP transport loses nothing of an event:
 * sender-constraint facts (`proof.*`, `token.cnf.*`), `http.*`, the tool headers, the actor's
 * token, and the event's own `attributes` as one JSON string, which keeps its entries beside the
 * `otlp.*` links and is not used when it is not a JSON object.
 */
import { describe, expect, it } from 'vitest'
import { mapRecord } from '../../src/otlp/map.js'
import { emptyRecord, type OtlpRecord, type OtlpValue } from '../../src/otlp/model.js'

function record(attributes: Record<string, OtlpValue>): OtlpRecord {
  return {
    ...emptyRecord('log', '0/0/0'),
    timeUnixNano: `${Date.UTC(2026, 11, 7, 12, 0, 0, 123)}000000`,
    attributes: new Map(Object.entries(attributes)),
  }
}

const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'

function event(attributes: Record<string, OtlpValue>): Record<string, unknown> {
  const mapped = mapRecord(record(attributes), { tenant: 'acme' })
  if (mapped.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(mapped)}`)
  return mapped.value
}

describe('the audtrail.* attributes the emitter needs', () => {
  it('fill proof, cnf, http, tool headers and the actor token', () => {
    const e = event({
      'audtrail.proof.scheme': 'DPoP',
      'audtrail.proof.verdict': 'invalid',
      'audtrail.proof.failure': 'htu_mismatch',
      'audtrail.proof.iat': 1796112000,
      'audtrail.proof.jkt': JKT,
      'audtrail.token.cnf.jkt': JKT,
      'audtrail.token.cnf.x5t#S256': JKT,
      'audtrail.http.method': 'POST',
      'audtrail.http.path': '/mcp',
      'audtrail.http.status': '401',
      'audtrail.tool.header_method': 'tools/call',
      'audtrail.actor.token.jti': 'a-1',
    })
    expect(e).toMatchObject({
      proof: { scheme: 'DPoP', verdict: 'invalid', failure: 'htu_mismatch', iat: 1796112000 },
      token: { cnf: { jkt: JKT, 'x5t#S256': JKT } },
      http: { method: 'POST', path: '/mcp', status: 401 },
      tool: { header_method: 'tools/call' },
      actor: { token: { jti: 'a-1' } },
    })
  })

  it('keep the event attributes of a JSON object beside the otlp.* links', () => {
    const e = event({
      'audtrail.attributes': JSON.stringify({ ticket: 'SEC-12', 'otlp.signal': 'forged' }),
    })
    expect(e.attributes).toEqual({
      ticket: 'SEC-12',
      'otlp.signal': 'log',
      'otlp.profiles': 'audtrail',
    })
  })

  it.each([['[1,2]'], ['"text"'], ['not json'], ['null']])(
    'do not use attributes %s that are not a JSON object',
    (text) => {
      const e = event({ 'audtrail.attributes': text })
      expect(e.attributes).toEqual({ 'otlp.signal': 'log', 'otlp.profiles': 'audtrail' })
    },
  )
})
