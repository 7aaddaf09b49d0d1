/**
 * parseEvent at its bounds (depth, attribute count and JSON size: at the bound and one past), the
 * structural reasons it gives and where unknown members go. Part of the mutation runs'
 * `events/contract` test set (issue 31, docs/design/mutation.md).
 */
import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../src/events/parse.js'
import { LIMITS } from '../../src/events/schema.js'
import { tokenKey } from '../../src/events/token-key.js'

const JWT = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.${'s'.repeat(40)}`
const FP = 'A'.repeat(43)
const RAW_JWT = "holds a raw JWT: send the token's fingerprint, never the token"

function presented(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 1,
    event_id: '6f1c1b9e-8d6a-4c53-9d2f-3f1a2b3c4d5e',
    event_type: 'token.presented',
    occurred_at: '2026-11-22T10:00:00.000Z',
    tenant: 't1',
    source: { kind: 'mcp_server', id: 'files' },
    resource: 'https://mcp.example/mcp',
    presented_aud: [],
    aud_validated: true,
    decision: 'rejected',
    reason: 'missing_token',
    ...extra,
  }
}

function exchanged(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 1,
    event_id: '6f1c1b9e-8d6a-4c53-9d2f-3f1a2b3c4d5f',
    event_type: 'token.exchanged',
    occurred_at: '2026-11-22T10:00:00.000Z',
    tenant: 't1',
    source: { kind: 'authorization_server', id: 'as' },
    token: { jti: 'new' },
    subject_token: { fingerprint: FP },
    requested_resources: [],
    granted_aud: [],
    ...extra,
  }
}

/** `{ n: { n: ... leaf } }`, `levels` objects deep. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let v = leaf
  for (let i = 0; i < levels; i++) v = { n: v }
  return v
}
function nestedList(levels: number, leaf: unknown = 1): unknown {
  let v = leaf
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

function reasons(input: unknown, options?: { wellFormed?: boolean }): string[] {
  const r = parseEvent(input, options)
  return r.ok ? [] : r.reasons
}

describe('parseEvent: depth', () => {
  // The event is depth 0, `attributes` 1, `attributes.x` 2: a leaf may sit at depth 16.
  it('takes members nested 16 levels deep and refuses 17, in objects and in lists', () => {
    expect(parseEvent(presented({ attributes: { x: nested(14) } })).ok).toBe(true)
    expect(reasons(presented({ attributes: { x: nested(15) } }))).toEqual([
      `attributes.x${'.n'.repeat(15)}: nested deeper than 16 levels`,
    ])
    expect(parseEvent(presented({ attributes: { x: nestedList(14) } })).ok).toBe(true)
    expect(reasons(presented({ attributes: { x: nestedList(15) } }))).toEqual([
      `attributes.x${'[0]'.repeat(15)}: nested deeper than 16 levels`,
    ])
  })
})

describe('parseEvent: structural reasons', () => {
  it('names the path of a raw JWT in a list item, never the token', () => {
    expect(reasons(presented({ attributes: { list: ['ok', JWT] } }))).toEqual([
      `attributes.list[1]: ${RAW_JWT}`,
    ])
    expect(reasons(presented({ attributes: { m: [{ a: 'x' }, { b: JWT }] } }))).toEqual([
      `attributes.m[1].b: ${RAW_JWT}`,
    ])
  })

  it('a raw JWT as a key: the key is not named', () => {
    expect(reasons(presented({ attributes: { [JWT]: 1 } }))).toEqual([
      `attributes: a key ${RAW_JWT}`,
    ])
  })

  it('a forbidden key is named', () => {
    expect(reasons(JSON.parse('{"attributes":{"__proto__":{"x":1}}}'))).toEqual([
      'attributes.__proto__: forbidden key',
    ])
    expect(reasons(presented({ network: { constructor: 1 } }))).toEqual([
      'network.constructor: forbidden key',
    ])
  })

  it('a lone surrogate in a string or a key, unless the caller vouches for well-formed text', () => {
    expect(reasons(presented({ attributes: { s: ['a', 'x\ud800'] } }))).toEqual([
      'attributes.s[1]: not well-formed Unicode (lone surrogate)',
    ])
    expect(reasons(presented({ attributes: { 'k\udc00': 1 } }))).toEqual([
      'attributes: a key is not well-formed Unicode',
    ])
    expect(parseEvent(presented({ attributes: { s: 'x\ud800' } }), { wellFormed: true }).ok).toBe(
      true,
    )
    // Vouching skips only the surrogate scan: a raw JWT is still refused.
    expect(reasons(presented({ attributes: { s: JWT } }), { wellFormed: true })).toEqual([
      `attributes.s: ${RAW_JWT}`,
    ])
  })

  it('a non-object is refused at the root', () => {
    for (const input of [null, 'x', 1, [presented()]])
      expect(reasons(input)).toEqual(['(root): must be a JSON object'])
  })
})

describe('parseEvent: schema reasons', () => {
  it('spells list indexes in brackets and keeps the schema messages', () => {
    expect(reasons(presented({ presented_aud: ['https://a.example', 1] }))[0]).toMatch(
      /^presented_aud\[1\]: /,
    )
    expect(reasons(presented({ tenant: '-x' }))).toEqual([
      'tenant: must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit',
    ])
    expect(reasons(exchanged({ subject_token: { fingerprint: 'short' } }))).toEqual([
      'subject_token.fingerprint: must be a base64url SHA-256 digest (43 characters)',
    ])
    expect(reasons(presented({ http: { method: 'GET /', path: '/' } }))).toEqual([
      'http.method: must be an HTTP method token',
    ])
  })

  it('lists at most 20 schema problems', () => {
    const many = presented({ presented_aud: Array.from({ length: 30 }, () => 1) })
    const r = reasons(many)
    expect(r).toHaveLength(20)
    expect(r[19]).toMatch(/^presented_aud\[19\]: /)
  })
})

describe('parseEvent: tokens', () => {
  it('a presentation without a token only with reason missing_token', () => {
    expect(parseEvent(presented()).ok).toBe(true)
    expect(reasons(presented({ reason: 'expired' }))).toEqual([
      'token: required (absent only on token.presented with reason missing_token)',
    ])
    expect(reasons(presented({ token: { iat: 1 } }))).toEqual([
      'token: must carry at least one of jti, fingerprint',
    ])
  })

  it('an exchange names its subject token by jti or by fingerprint', () => {
    expect(parseEvent(exchanged()).ok).toBe(true)
    expect(parseEvent(exchanged({ subject_token: { jti: 'old' } })).ok).toBe(true)
    expect(reasons(exchanged({ subject_token: {} }))).toEqual([
      'subject_token: must carry at least one of jti, fingerprint',
    ])
  })

  it('the token key is the jti, else the fingerprint', () => {
    expect(tokenKey({ jti: 'j', fingerprint: FP })).toEqual({ key: 'j', kind: 'jti' })
    expect(tokenKey({ fingerprint: FP })).toEqual({ key: FP, kind: 'fingerprint' })
    expect(tokenKey({})).toBeUndefined()
    expect(tokenKey(undefined)).toBeUndefined()
  })
})

describe('parseEvent: attributes', () => {
  const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))

  it(`takes ${LIMITS.attributes} attributes and refuses one more`, () => {
    const ok = parseEvent(presented({ attributes: attrs(LIMITS.attributes) }))
    expect(ok.ok && Object.keys(ok.event.attributes ?? {}).length).toBe(LIMITS.attributes)
    expect(reasons(presented({ attributes: attrs(LIMITS.attributes + 1) }))).toEqual([
      `attributes: at most ${LIMITS.attributes} entries (got ${LIMITS.attributes + 1})`,
    ])
    // Unknown members count with them.
    expect(reasons(presented({ attributes: attrs(LIMITS.attributes), extra: 1 }))).toEqual([
      `attributes: at most ${LIMITS.attributes} entries (got ${LIMITS.attributes + 1})`,
    ])
  })

  it(`takes ${LIMITS.attributesJson} characters of attribute JSON and refuses one more`, () => {
    // {"a":"..."} is 8 characters around the value.
    const exact = { a: 'x'.repeat(LIMITS.attributesJson - 8) }
    expect(JSON.stringify(exact).length).toBe(LIMITS.attributesJson)
    expect(parseEvent(presented({ attributes: exact })).ok).toBe(true)
    expect(reasons(presented({ attributes: { a: `${exact.a}x` } }))).toEqual([
      `attributes: at most ${LIMITS.attributesJson} bytes of JSON`,
    ])
  })

  it('moves unknown members, nested ones by their path, into the attributes', () => {
    const r = parseEvent(
      exchanged({
        extra: 'e',
        source: { kind: 'authorization_server', id: 'as', zone: 'z' },
        subject_token: { fingerprint: FP, issued_by: 'x' },
        actor: { subject: 'bot', token: { jti: 'a', note: 'n' }, team: 't' },
        attributes: { mine: 1 },
      }),
    )
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.event.attributes).toEqual({
      extra: 'e',
      'source.zone': 'z',
      'subject_token.issued_by': 'x',
      'actor.token.note': 'n',
      'actor.team': 't',
      mine: 1,
    })
    const e = r.event as Record<string, unknown>
    expect(e.extra).toBeUndefined()
    expect(e.subject_token).toEqual({ fingerprint: FP })
    expect(e.actor).toEqual({ subject: 'bot', token: { jti: 'a' } })
  })

  it('an event without attributes has no attributes member', () => {
    const r = parseEvent(presented({ attributes: {} }))
    expect(r.ok && 'attributes' in r.event).toBe(false)
    const plain = parseEvent(presented())
    expect(plain.ok && 'attributes' in plain.event).toBe(false)
  })

  it('an optional nested member left undefined is no unknown member', () => {
    const r = parseEvent(presented({ network: undefined }))
    expect(r.ok).toBe(true)
  })
})
