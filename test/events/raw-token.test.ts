import { createHmac, randomUUID } from 'node:crypto'
import { CompactEncrypt, compactVerify, decodeProtectedHeader, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { parseEvent } from '../../src/events/parse.js'
import {
  holdsRawJwt,
  RAW_JWT_REMOVED,
  withoutRawJwts,
  withoutRawJwtText,
} from '../../src/events/raw-token.js'
import { processPayload } from '../../src/pipeline/process.js'
import { toRejectedRow } from '../../src/events/rejected-row.js'
import { dlqMessage } from '../../src/pipeline/dlq.js'
import { presentedEvent } from '../helpers/events.js'
import { HOSTILE_JWT, HOSTILE_JWT_PARTS, hostileCorpus } from '../helpers/hostile.js'
import { seededRandom } from '../helpers/random.js'

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

/** A seeded random source (mulberry32): a failing case is the same on every run. */
function seeded(seed: number) {
  const next = seededRandom(seed)
  const int = (n: number) => Math.floor(next() * n)
  return {
    int,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))),
  }
}
type Random = ReturnType<typeof seeded>

const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64url')
const WS = [' ', '\t', '\n', '\r'] as const
const spaces = (r: Random, max: number) =>
  Array.from({ length: r.int(max + 1) }, () => r.pick(WS)).join('')

/** First members of a JOSE header, as JSON text (key, value). */
const FIRST_MEMBERS = [
  ['"alg"', '"RS256"'],
  ['"x5t#S256"', '"NjVlNmE3ZjE2Y2M0ZjI5NTQ4ZmNhYjQ5ODQ5ZjUzZjM"'],
  ['"kid"', '"2024-05-k1"'],
  [`"${'k'.repeat(40)}"`, '1'],
  [`"${'long_key_'.repeat(12)}"`, '"v"'],
  ['"ключ"', '"значение"'],
  ['"鍵🔑"', 'true'],
  ['"\\u0061lg"', '"none"'],
  ['"a\\"b\\\\c\\/d\\n"', 'null'],
  ['"typ"', '"at+jwt"'],
  ['"cty"', '"JWT"'],
  ['"crit"', '["b64"]'],
  ['"b64"', 'false'],
  ['"jwk"', '{"kty":"EC","crv":"P-256"}'],
  ['"x5c"', '["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]'],
  ['"5"', '-1'],
  ['""', '0.5'],
] as const
const OTHER_MEMBERS = [
  '"alg":"ES256"',
  '"typ":"JWT"',
  '"typ":"at+jwt"',
  '"typ":"dpop+jwt"',
  '"typ":"application/example;part=\\"1/2\\""',
  '"cty":"JWT"',
  '"enc":"A256GCM"',
  '"kid":"k1"',
] as const

/**
 * A header in a random arrangement of JSON whitespace (and perhaps a byte order mark), with
 * any first member, and an `alg` (which JWS and JWE headers must have) among the others.
 */
function randomHeader(r: Random): string {
  const [key, value] = r.pick(FIRST_MEMBERS)
  const members = [`${key}${spaces(r, 2)}:${spaces(r, 2)}${value}`, '"alg":"ES256"']
  for (let i = r.int(3); i > 0; i--) members.push(r.pick(OTHER_MEMBERS))
  const body = members.map((m) => `${spaces(r, 2)}${m}${spaces(r, 1)}`).join(',')
  const bom = r.int(4) === 0 ? '\ufeff' : ''
  return `${bom}${spaces(r, 5)}{${body}${spaces(r, 2)}}${spaces(r, 2)}`
}

/** A compact JWS (three segments) or JWE (five) with that header. */
function tokenWith(header: string, r: Random, segments: 3 | 5): string {
  const claims = b64(
    JSON.stringify({ sub: 'alice', aud: 'https://mcp.example.com/', n: r.int(1e9) }),
  )
  if (segments === 3) return [b64(header), claims, r.int(5) === 0 ? '' : b64(r.bytes(32))].join('.')
  // A JWE: encrypted key (empty for dir), IV, ciphertext, tag.
  const key = r.int(2) === 0 ? '' : b64(r.bytes(40))
  return [b64(header), key, b64(r.bytes(12)), b64(r.bytes(20 + r.int(80))), b64(r.bytes(16))].join(
    '.',
  )
}

/** Text around a token, as it turns up in headers, URLs, logs and JSON. */
const NEIGHBOURS = [
  ['', ''],
  [' ', ' '],
  ['%20', '%20'],
  ['access_token=', '&state=x'],
  ['Bearer ', ''],
  ['Authorization: Bearer ', ' HTTP/1.1'],
  ['"', '"'],
  ["'", "'"],
  ['\\n', '\\n'],
  ['(', ')'],
  ['<', '>'],
  ['at_', ''],
  ['x-', ','],
  ['#id_token=', ';'],
  ['/cb?h=Bearer%20', '&x=%2F'],
  ['{\\"access_token\\":\\"', '\\"}'],
  ['\\u0022', '\\u0022'],
] as const

/** Text decoded the way URL and JSON decoders would, layer after layer (the test's own). */
function decodedLayers(text: string): string[] {
  const layers = [text]
  for (let i = 0; i < 10; i++) {
    const next = layers[layers.length - 1]!.replace(
      /%([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|\\(["\\/bfnrt])/g,
      (_, pct?: string, u?: string, c?: string) =>
        pct !== undefined
          ? String.fromCharCode(parseInt(pct, 16))
          : u !== undefined
            ? String.fromCharCode(parseInt(u, 16))
            : (({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[c!] ??
              c!),
    )
    if (next === layers[layers.length - 1]) break
    layers.push(next)
  }
  return layers
}

/** Pieces of a token's segments: none may be left in any decoded layer of what is kept. */
const piecesOf = (token: string) =>
  token
    .split('.')
    .filter((segment) => segment.length >= 16)
    .map((segment) => segment.slice(4, 16))
const keepsPiece = (text: string, token: string) =>
  decodedLayers(text).some((layer) => piecesOf(token).some((piece) => layer.includes(piece)))

const JWT_REASON = "attributes.h: holds a raw JWT: send the token's fingerprint, never the token"

/** What is wrong with how `text` (a token between `before` and `after`) is handled, if anything. */
function mishandled(token: string, before: string, after: string): string[] {
  const text = `${before}${token}${after}`
  const cut = `${before}${RAW_JWT_REMOVED}${after}`
  const wrong: string[] = []
  if (!holdsRawJwt(text)) wrong.push('holdsRawJwt')
  if (withoutRawJwtText(text) !== cut) wrong.push('withoutRawJwtText')
  const json = withoutRawJwts(Buffer.from(JSON.stringify({ a: text, n: 1 })))
  if (json.toString() !== JSON.stringify({ a: cut, n: 1 })) wrong.push('withoutRawJwts (JSON)')
  const line = withoutRawJwts(Buffer.from(`{"a":"${text}","n":`))
  if (line.toString() !== `{"a":"${cut}","n":`) wrong.push('withoutRawJwts (not JSON)')
  const parsed = parseEvent(presentedEvent({ attributes: { h: text } }))
  if (parsed.ok || !parsed.reasons.includes(JWT_REASON)) wrong.push('parseEvent')
  return wrong
}

describe('a JWT recognised by its structure', () => {
  it('is found with every arrangement of whitespace around and before its header brace', () => {
    const leads = ['', ...WS.flatMap((c) => [1, 2, 3, 4, 5].map((n) => c.repeat(n))), ' \t\n\r ']
    const afterBrace = ['', ' ', '\t', '\n', '\r', '\r\n  ']
    const r = seeded(1)
    const failures: string[] = []
    let count = 0
    for (const bom of ['', '\ufeff'])
      for (const lead of leads)
        for (const after of afterBrace)
          for (const segments of [3, 5] as const) {
            const header = `${bom}${lead}{${after}"alg"${after}:${after}"RS256"${after}}`
            const token = tokenWith(header, r, segments)
            // jose reads each of these headers.
            expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256' })
            const [before, rest] = r.pick(NEIGHBOURS)
            const wrong = mishandled(token, before, rest)
            if (wrong.length > 0) failures.push(`${JSON.stringify(header)} (${segments}): ${wrong}`)
            count++
          }
    expect(count).toBe(2 * 22 * 6 * 2)
    expect(failures).toEqual([])
  })

  it('is found whatever its first member, typ or cty, in any whitespace, among any neighbours', () => {
    const r = seeded(2)
    const failures: string[] = []
    for (let i = 0; i < 600; i++) {
      const header = randomHeader(r)
      const token = tokenWith(header, r, r.pick([3, 5] as const))
      expect(typeof decodeProtectedHeader(token)).toBe('object')
      const [before, after] = r.pick(NEIGHBOURS)
      const wrong = mishandled(token, before, after)
      if (wrong.length > 0) failures.push(`${JSON.stringify(header)}: ${wrong}`)
    }
    expect(failures).toEqual([])
  })

  it.each(FIRST_MEMBERS.map(([key, value]) => [key, value] as const))(
    'is found when its first member is %s',
    (key, value) => {
      const r = seeded(key.length)
      for (const segments of [3, 5] as const) {
        const token = tokenWith(`{${key}:${value},"alg":"RS256"}`, r, segments)
        for (const [before, after] of NEIGHBOURS)
          expect(mishandled(token, before, after)).toEqual([])
      }
    },
  )

  it('is found in the forms jose signs and verifies (x5t#S256 first, whitespace around the brace)', async () => {
    const x5t = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({
        'x5t#S256': 'NjVlNmE3ZjE2Y2M0ZjI5NTQ4ZmNhYjQ5ODQ5ZjUzZjM',
        alg: 'HS256',
      })
      .sign(key)
    const header = b64('\t{\n"alg" : "HS256"\r}')
    const claims = b64('{"sub":"alice"}')
    const mac = createHmac('sha256', key).update(`${header}.${claims}`).digest('base64url')
    const spacedOut = `${header}.${claims}.${mac}`
    for (const token of [x5t, spacedOut]) {
      await compactVerify(token, key)
      expect(mishandled(token, 'Bearer ', '')).toEqual([])
    }
  })

  it('is found with padding jose tolerates (= before a dot or at the end)', () => {
    const header = b64('{"alg":"none","typ":"JWT"}') // 36 characters: no padding of its own
    const padded = `${b64('{"alg":"none"}')}=.${b64('{"sub":"x"}')}==.`
    expect(decodeProtectedHeader(padded)).toEqual({ alg: 'none' })
    expect(mishandled(padded, 'x ', ' y')).toEqual([])
    expect(mishandled(`${header}.e30.c2ln==`, '(', ')')).toEqual([])
  })

  it('is cut alone when its dots are %2E (a percent-encoded token among other text)', () => {
    const [h, p, s] = signed.split('.')
    expect(withoutRawJwtText(`a ${h}%2E${p}%2E${s} b`)).toBe(`a ${RAW_JWT_REMOVED} b`)
    expect(withoutRawJwtText(`a ${h}%2e${p}.${s} b`)).toBe(`a ${RAW_JWT_REMOVED} b`)
    expect(withoutRawJwtText(`a ${encrypted.replaceAll('.', '%2E')} b ${signed} c`)).toBe(
      `a ${RAW_JWT_REMOVED} b ${RAW_JWT_REMOVED} c`,
    )
  })
})

/** Spellings of a token a URL or JSON decoder turns back into it, one layer or more. */
const ESCAPES: [string, (token: string, r: Random) => string][] = [
  ['\\u002e for its dots', (t) => t.replaceAll('.', '\\u002e')],
  ['\\u002E for its dots', (t) => t.replaceAll('.', '\\u002E')],
  ['\\u00XX for its first character', (t) => `\\u00${t.charCodeAt(0).toString(16)}${t.slice(1)}`],
  ['%2E for its dots', (t) => t.replaceAll('.', '%2E')],
  ['%252E for its dots', (t) => t.replaceAll('.', '%252E')],
  ['%5Cu002e for its dots', (t) => t.replaceAll('.', '%5Cu002e')],
  ['\\u00252E for its dots', (t) => t.replaceAll('.', '\\u00252E')],
  ['\\\\u002e for its dots (escaped twice)', (t) => t.replaceAll('.', '\\\\u002e')],
  ['%65 for every e', (t) => t.replaceAll('e', '%65')],
  ['%XX for every character', (t) => t.replace(/./g, (c) => `%${c.charCodeAt(0).toString(16)}`)],
  [
    '\\u00XX for every character',
    (t) => t.replace(/./g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
  ],
  [
    'each character as it is, %XX, %25XX, \\u00XX or %5Cu00XX',
    (t, r) =>
      t.replace(/./g, (c) => {
        const hex = c.charCodeAt(0).toString(16).padStart(2, '0')
        return r.pick([c, c, `%${hex}`, `%25${hex}`, `\\u00${hex}`, `%5Cu00${hex}`])
      }),
  ],
]

describe('an escaped JWT', () => {
  it.each(ESCAPES.map(([name, escape]) => [name, escape] as const))(
    'is found, refused and cut from every kept copy when spelled with %s',
    (_, escape) => {
      const r = seeded(3)
      for (let i = 0; i < 40; i++) {
        const token = tokenWith(randomHeader(r), r, r.pick([3, 5] as const))
        const [before, after] = r.pick(NEIGHBOURS)
        const text = `${before}${escape(token, r)}${after}`
        expect(holdsRawJwt(text), text).toBe(true)
        const parsed = parseEvent(presentedEvent({ attributes: { h: text } }))
        expect(parsed.ok === false && parsed.reasons.includes(JWT_REASON), text).toBe(true)
        // A string is cut where the token shows as it is, else replaced whole.
        const cleaned = withoutRawJwtText(text)
        expect([RAW_JWT_REMOVED, `${before}${RAW_JWT_REMOVED}${after}`]).toContain(cleaned)
        const json = withoutRawJwts(Buffer.from(JSON.stringify({ a: text, n: 1 }))).toString()
        expect(JSON.parse(json)).toEqual({ a: cleaned, n: 1 })
        // A payload that is not JSON keeps everything but what spells the token.
        const line = withoutRawJwts(Buffer.from(`{"a":"${text}","n":`)).toString('latin1')
        expect(line, text).toBe(`{"a":"${before}${RAW_JWT_REMOVED}${after}","n":`)
        for (const kept of [cleaned, json, line]) {
          expect(keepsPiece(kept, token), kept).toBe(false)
          expect(holdsRawJwt(kept)).toBe(false)
        }
      }
    },
  )

  it('is cut from a payload that is not JSON, wherever it is and however many there are', () => {
    const r = seeded(4)
    for (let i = 0; i < 100; i++) {
      const tokens = Array.from({ length: 1 + r.int(3) }, () =>
        tokenWith(randomHeader(r), r, r.pick([3, 5] as const)),
      )
      const parts = tokens.map((t) => r.pick(ESCAPES)[1](t, r))
      // Apart: a token glued to the next, or to letters after it, is one run with them.
      const ends = (k: number) => (k === 0 || k === tokens.length ? [''] : [])
      const fillers = Array.from({ length: tokens.length + 1 }, (_, k) =>
        r.pick([...ends(k), ' ', '","', '%20', 'é', '\\n', ' x=', '{"h":"', '\u00ff']),
      )
      const text = fillers.map((f, k) => f + (parts[k] ?? '')).join('')
      const kept = withoutRawJwts(Buffer.from(text, 'latin1')).toString('latin1')
      expect(kept).toBe(fillers.join(RAW_JWT_REMOVED))
      for (const token of tokens) expect(keepsPiece(kept, token)).toBe(false)
    }
  })

  it('in a JSON string (escaped once more) is refused and replaced with the string', () => {
    const spelled = signed.replaceAll('.', '\\u002e')
    const payload = Buffer.from(JSON.stringify({ ...presentedEvent(), attributes: { h: spelled } }))
    const result = processPayload(payload, { receivedAt: Date.now(), retentionDays: 400 })
    expect(result).toMatchObject({ kind: 'dlq', reasons: [JWT_REASON] })
    const kept = JSON.parse(withoutRawJwts(payload).toString()) as { attributes: { h: string } }
    expect(kept.attributes.h).toBe(RAW_JWT_REMOVED)
  })

  it('keeps no piece of a second token that shows only once decoded', () => {
    const escaped = signed.replaceAll('e', '%65')
    expect(withoutRawJwtText(`a ${encrypted} b ${escaped} c`)).toBe(RAW_JWT_REMOVED)
    expect(withoutRawJwts(Buffer.from(`{"a ${encrypted} b ${escaped} c`)).toString()).toBe(
      `{"a ${RAW_JWT_REMOVED} b ${RAW_JWT_REMOVED} c`,
    )
  })
})

describe('text that is no JWT', () => {
  const r = seeded(5)
  const uuids = [1, 2, 3].map(() => randomUUID())
  const object = (json: string) => b64(json)
  it.each([
    ['ordinary words', 'The newest keyboard they viewed; consider the keyId of the monkey.'],
    ['words spelling candidates, with dots', 'monkeyJar.v1.x'],
    ['more such words', 'newline.viewport.keyboard'],
    ['words with eyJ between dots', 'heyJude.eyJhb.x'],
    ['an identifier with eyA', 'apiKeyAuthenticationService.v2.beta'],
    ['a host with ewo', 'reviewootoolsapp.example.com'],
    ['words spelling the rarer candidates', 'consideration.Hsg7D.transition.pensions.B7Ip7C'],
    ['a version string', 'v10.24.1-beta.3+build.2026.11.22'],
    ['a user agent', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0.6478.126 Safari/537.36'],
    ['e.y.J', 'e.y.J.e.y.J'],
    ['a URL', 'https://eyjafjallajokull.example.com/newsletter/keyId.v1.json?t=eyJ.y.z#s.2'],
    ['an email address', 'keyJar.newsletter+eyJ@eyewear.example.co.uk'],
    ['UUIDs joined by dots', uuids.join('.')],
    ['fingerprints joined by dots', uuids.map((u) => fingerprintToken(u)).join('.')],
    ['a base64url blob without dots', b64(r.bytes(600))],
    ['a base64 blob without dots', r.bytes(600).toString('base64')],
    ['random base64url joined by dots', [1, 2, 3].map(() => b64(r.bytes(48))).join('.')],
    ['a JSON array, encoded, then dots', `${object('["alg","none",1]')}.e30.sig`],
    ['an object without a key, encoded', `${object('{  }                 ')}.e30.sig`],
    ['an unquoted key, encoded', `${object('{alg:"none",typ:"JWT"}')}.e30.sig`],
    ['a key without a colon, encoded', `${object('{"alg" "none","x":1}')}.e30.sig`],
    ['a colon without a value, encoded', `${object('{"alg":}            ')}.e30.sig`],
    ['a control character in a key, encoded', `${object('{"al\u0001g":"none"}')}.e30.sig`],
    ['a bad escape in a key, encoded', `${object('{"al\\xg":"none"}')}.e30.sig`],
    [
      'a key that is not UTF-8, encoded',
      `${b64(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x20, 0x20, 0x20, 0x20]))}.e30.sig`,
    ],
    ['a header with one segment after it', signed.split('.').slice(0, 2).join('.')],
    ['a header too short to be one', 'eyJhbGci.x.y'],
    ['JSON escapes of dots between words', 'file\\u002ename\\u002etxt and a\\/b'],
    ['percent-escapes of dots between words', '%2E%2E%2Fetc%2Fpasswd and file%2Ename%2Etxt'],
    ['a Windows path', 'C:\\Users\\alice\\AppData\\Local\\Temp\\session.v1.json'],
  ])('is not taken for one: %s', (_, text) => {
    expect(holdsRawJwt(text)).toBe(false)
    expect(withoutRawJwtText(text)).toBe(text)
    const json = Buffer.from(JSON.stringify({ a: text }))
    expect(withoutRawJwts(json)).toBe(json)
    const line = Buffer.from(`{"a":"${text}",`)
    expect(withoutRawJwts(line)).toBe(line)
    expect(parseEvent(presentedEvent({ attributes: { note: text } })).ok).toBe(true)
  })
})

describe('the hostile corpus', () => {
  it('leaves no piece of its JWT in any stored or sent copy of a refused payload', () => {
    let withJwt = 0
    for (const { name, payload } of hostileCorpus()) {
      const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
      const result = processPayload(bytes, { receivedAt: Date.now(), retentionDays: 400 })
      expect(result.kind, name).toBe('dlq')
      if (result.kind !== 'dlq') continue
      const row = toRejectedRow({
        ...result,
        transport: 'http',
        sourceRef: 'r',
        payload: bytes,
        receivedAt: 0,
      })
      const stored = row.payload.startsWith('base64:')
        ? Buffer.from(row.payload.slice('base64:'.length), 'base64').toString('latin1')
        : row.payload
      const sent = dlqMessage(bytes, row, bytes.subarray(0, 4096))
      if (!HOSTILE_JWT_PARTS.some((part) => bytes.includes(part))) continue
      withJwt++
      for (const kept of [stored, sent.value!.toString('latin1'), sent.key!.toString('latin1')]) {
        expect(keepsPiece(kept, HOSTILE_JWT), name).toBe(false)
        expect(holdsRawJwt(kept), name).toBe(false)
      }
      expect(stored, name).toContain(RAW_JWT_REMOVED)
    }
    expect(withJwt).toBeGreaterThanOrEqual(29)
  })
})
