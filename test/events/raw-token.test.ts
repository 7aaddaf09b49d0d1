import { randomUUID } from 'node:crypto'
import { CompactEncrypt, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { parseEvent } from '../../src/events/parse.js'
import { holdsRawJwt, RAW_JWT_REMOVED, withoutRawJwts } from '../../src/events/raw-token.js'
import { processPayload } from '../../src/pipeline/process.js'
import { toRejectedRow } from '../../src/pipeline/rejected-row.js'
import { dlqMessage } from '../../src/transport/kafka.js'
import { presentedEvent } from '../helpers/events.js'
import { HOSTILE_JWT } from '../helpers/hostile.js'

const key = new TextEncoder().encode('k'.repeat(32))
const signed = await new SignJWT({ sub: 'alice', client_id: 'agent' })
  .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
  .setAudience('https://mcp.example.com/')
  .setExpirationTime('5m')
  .sign(key)
const encrypted = await new CompactEncrypt(new TextEncoder().encode(signed))
  .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
  .encrypt(key)
const unsecured = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
/** A header written with a space after its brace (`eyA`, not `eyJ`). */
const spaced = [
  Buffer.from('{ "alg": "HS256" }').toString('base64url'),
  signed.split('.')[1],
  signed.split('.')[2],
].join('.')

describe('holdsRawJwt', () => {
  it.each([
    ['a signed JWT', signed],
    ['an encrypted JWT (five segments)', encrypted],
    ['an unsecured JWT (empty signature)', unsecured],
    ['a JWT after Bearer', `Bearer ${signed}`],
    ['a JWT in a query string', `/mcp?access_token=${signed}&x=1`],
    ['a JWT after a percent-encoded space', `/cb?h=Bearer%20${signed}`],
    ['a JWT after a percent-encoded equals sign', `access_token%3D${signed}`],
    ['a JWT glued to other base64url characters', `at_${signed}`],
    ['a JWT glued after a dash', `x-${signed}`],
    ['a JWT with percent-encoded dots', `/mcp?t=${signed.replaceAll('.', '%2E')}`],
    ['a JWT whose header has a space after its brace', spaced],
  ])('finds %s', (_, text) => {
    expect(holdsRawJwt(text)).toBe(true)
  })

  it.each([
    ['fingerprints joined by dots', [1, 2, 3].map((i) => fingerprintToken(`t${i}`)).join('.')],
    ['UUIDs joined by dots', [1, 2, 3].map(() => randomUUID()).join('.')],
    ['base64url JSON without dots', signed.split('.')[0]!],
    ['one dot only', signed.split('.').slice(0, 2).join('.')],
    ['a word with eyJ in it, then two dots', 'monkeyJumpingLibraryModule.v1.x'],
    ['a word with eyA in it, then two dots', 'apiKeyAuthenticationService.v2.beta'],
    ['a host with ewo in it', 'reviewootoolsapp.example.com'],
    ['a header too short to be one', 'eyJhbGci.x.y'],
  ])('does not take %s for one', (_, text) => {
    expect(holdsRawJwt(text)).toBe(false)
  })
})

describe('withoutRawJwts', () => {
  it('replaces every JWT and keeps every other byte, UTF-8 or not', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xff, 0x00]),
      Buffer.from(`a ${signed} b ${unsecured} é`),
      Buffer.from([0xc3]),
    ])
    const kept = withoutRawJwts(bytes)
    expect(kept.includes(signed)).toBe(false)
    expect(kept.includes(unsecured)).toBe(false)
    expect(kept).toEqual(
      Buffer.concat([
        Buffer.from([0xff, 0x00]),
        Buffer.from(`a ${RAW_JWT_REMOVED} b ${RAW_JWT_REMOVED} é`),
        Buffer.from([0xc3]),
      ]),
    )
  })

  it('reads a megabyte of near misses in one pass (each eyJ inside a run is not a start)', () => {
    const nearMisses = ['eyJ'.repeat(330_000), '-eyJaaaaaaaaaaaa'.repeat(60_000)]
    for (const text of nearMisses) {
      expect(holdsRawJwt(text)).toBe(false)
      const bytes = Buffer.from(text)
      expect(withoutRawJwts(bytes)).toBe(bytes)
    }
    expect(holdsRawJwt(`${nearMisses[1]} ${signed}`)).toBe(true)
  })

  it('looks at a JSON payload as parseEvent does: escapes decoded', () => {
    for (const hidden of [
      `Authorization:\\n${signed}`,
      signed.replaceAll('.', '\\u002e'),
      `\\u0065${signed.slice(1)}`,
    ]) {
      const payload = Buffer.from(`{"event_type":1,"attributes":{"h":"${hidden}","k":"v"}}`)
      const kept = withoutRawJwts(payload)
      const value = JSON.parse(kept.toString()) as { attributes: Record<string, string> }
      expect(value.attributes.h).not.toContain(signed.split('.')[1]!.slice(0, 20))
      expect(value.attributes.h).toContain(RAW_JWT_REMOVED)
      expect(value.attributes.k).toBe('v')
    }
  })

  it('keeps both of two keys that are cut to the same text', () => {
    const payload = Buffer.from(JSON.stringify({ [signed]: 1, [unsecured]: 2, n: [signed] }))
    expect(JSON.parse(withoutRawJwts(payload).toString())).toEqual({
      n: [RAW_JWT_REMOVED],
      [RAW_JWT_REMOVED]: 1,
      [`${RAW_JWT_REMOVED} #2`]: 2,
    })
  })

  it('returns the bytes themselves when they hold none', () => {
    const bytes = Buffer.from(JSON.stringify(presentedEvent()))
    expect(withoutRawJwts(bytes)).toBe(bytes)
    const almost = Buffer.from('{"x":"eyJhbGciOiJub25lIn0"}')
    expect(withoutRawJwts(almost)).toBe(almost)
  })
})

describe('an event with a raw JWT', () => {
  it.each([
    ['an unknown field', { ...presentedEvent(), id_token: signed }, 'id_token'],
    [
      'an attribute',
      presentedEvent({ attributes: { auth: `Bearer ${signed}` } }),
      'attributes.auth',
    ],
    ['token.jti', presentedEvent({ token: { jti: encrypted } }), 'token.jti'],
    [
      'an audience',
      presentedEvent({ presented_aud: ['https://a/', unsecured] }),
      'presented_aud[1]',
    ],
  ])('is refused with the path, never the token, when it is in %s', (_, event, path) => {
    const result = parseEvent(event)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.reasons).toEqual([
      `${path}: holds a raw JWT: send the token's fingerprint, never the token`,
    ])
  })

  it('is refused when it is spelled with percent-escapes (as the resource forms decode them)', () => {
    const escaped = `%65${signed.slice(1).replaceAll('.', '%2E')}`
    const result = parseEvent(
      presentedEvent({ resource: `https://mcp.example.com/mcp?t=${escaped}` }),
    )
    expect(result).toEqual({
      ok: false,
      reasons: ["resource: holds a raw JWT: send the token's fingerprint, never the token"],
    })
    // The stored copy of a refusal loses the whole string, the token's place in it unknown,
    // also when no header start shows before the escapes are decoded.
    for (const spelled of [escaped, signed.replaceAll('e', '%65')]) {
      const kept = withoutRawJwts(Buffer.from(JSON.stringify({ r: `x?t=${spelled}`, n: 'a' })))
      expect(JSON.parse(kept.toString())).toEqual({ r: RAW_JWT_REMOVED, n: 'a' })
    }
  })

  it('does not give a short one as the event_id or tenant of its refusal', () => {
    const short = 'eyJhbGciOiJub25lIn0.e30.'
    const result = processPayload(
      JSON.stringify({ ...presentedEvent(), event_id: short, tenant: short }),
      { receivedAt: 0, retentionDays: 36_500 },
    )
    expect(result).toMatchObject({ kind: 'dlq' })
    expect(result).not.toHaveProperty('eventId', short)
    expect(result).not.toHaveProperty('tenant', short)
    expect(JSON.stringify(result)).not.toContain(short)
  })

  it('is refused without naming a key that is the token', () => {
    const result = parseEvent(presentedEvent({ attributes: { [signed]: 'x' } }))
    expect(result).toEqual({
      ok: false,
      reasons: ["attributes: a key holds a raw JWT: send the token's fingerprint, never the token"],
    })
  })

  it('is stored as a rejection and sent to the DLQ without the token', () => {
    const payload = JSON.stringify({ ...presentedEvent(), access_token: signed })
    const result = processPayload(Buffer.from(payload), { receivedAt: 0, retentionDays: 36_500 })
    expect(result.kind).toBe('dlq')
    if (result.kind !== 'dlq') return
    const row = toRejectedRow({
      ...result,
      transport: 'kafka',
      sourceRef: 'audtrail.events.v1/0/1',
      payload: Buffer.from(payload),
      receivedAt: 0,
    })
    expect(row.payload).toBe(payload.replace(signed, RAW_JWT_REMOVED))
    // Size and digest are those of the payload as received (to match the producer's copy).
    expect(row.payload_bytes).toBe(Buffer.byteLength(payload))
    expect(row.payload_truncated).toBe(false)
    const message = dlqMessage(Buffer.from(payload), row, signed)
    expect(message.value!.toString()).toBe(row.payload)
    expect(message.key!.toString()).toBe(RAW_JWT_REMOVED)
    expect(JSON.stringify(message.headers)).not.toContain(signed.slice(0, 40))
  })

  it('in a payload that is not UTF-8 is cut out before it is kept as base64', () => {
    const payload = Buffer.concat([Buffer.from([0xff]), Buffer.from(HOSTILE_JWT)])
    const row = toRejectedRow({
      transport: 'http',
      sourceRef: 'http/r/0',
      payload,
      reasons: ['payload is not valid UTF-8'],
      receivedAt: 0,
    })
    expect(row.payload.startsWith('base64:')).toBe(true)
    const kept = Buffer.from(row.payload.slice('base64:'.length), 'base64')
    expect(kept).toEqual(Buffer.concat([Buffer.from([0xff]), Buffer.from(RAW_JWT_REMOVED)]))
  })
})
