/**
 * A corpus of hostile or broken payloads, each of which the pipeline must refuse with a reason:
 * malformed JSON, binary, wrong types, missing fields, huge strings and arrays, deep nesting,
 * prototype keys, control characters, SQL and log injection where the contract forbids them,
 * invalid timestamps and unknown event types.
 */
import { presentedEvent } from './events.js'

export interface HostileCase {
  name: string
  payload: string | Buffer
}

const json = (v: unknown) => JSON.stringify(v)
const withField = (path: string[], value: unknown) => {
  const e = presentedEvent() as Record<string, unknown>
  let target = e
  for (const p of path.slice(0, -1)) target = target[p] as Record<string, unknown>
  target[path[path.length - 1]!] = value
  return json(e)
}
const without = (path: string[]) => {
  const e = presentedEvent() as Record<string, unknown>
  let target = e
  for (const p of path.slice(0, -1)) target = target[p] as Record<string, unknown>
  delete target[path[path.length - 1]!]
  return json(e)
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/**
 * A signed access token as an authorization server issues it: the corpus puts it where a
 * careless producer would, and no copy of it may be stored or sent on.
 */
export const HOSTILE_JWT = [
  b64url({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' }),
  b64url({ iss: 'https://as.example.com', sub: 'alice', aud: 'https://mcp.example.com/' }),
  Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37) % 256)).toString('base64url'),
].join('.')

/** Parts of HOSTILE_JWT that no stored or sent copy of a refused payload may hold. */
export const HOSTILE_JWT_PARTS = HOSTILE_JWT.split('.').map((part) => part.slice(4, 40))

/** Payloads up to about 1 MB (they must fit in a Kafka message with the broker's defaults). */
export function hostileCorpus(): HostileCase[] {
  const cases: HostileCase[] = []
  const add = (name: string, payload: string | Buffer) => cases.push({ name, payload })

  // Malformed JSON
  for (const [i, text] of [
    '{',
    '}',
    '{"a":',
    '{"a":1,}',
    "{'single':'quotes'}",
    '[1,2',
    'undefined',
    'NaN',
    '{"a":1}{"b":2}',
    '{"event_id":"x" "tenant":"y"}',
    '\u0000',
    '{"a":"\\u12"}',
    '{"a":01}',
    '"just a string"',
    '12345',
    'null',
    'true',
    '[]',
    '[{"event_type":"token.presented"}]',
    '{"a":1',
  ].entries())
    add(`malformed or non-object JSON #${i}`, text)

  // Binary and invalid UTF-8
  for (let i = 0; i < 10; i++) {
    const bytes = Buffer.alloc(64 + i * 32)
    for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 131 + i * 17 + 0x80) & 0xff
    add(`binary #${i}`, bytes)
  }
  add(
    'invalid UTF-8 inside JSON',
    Buffer.concat([Buffer.from('{"tenant":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
  )
  add('UTF-16 encoded JSON', Buffer.from(json(presentedEvent()), 'utf16le'))

  // Wrong types for every field
  const fields: string[][] = [
    ['schema_version'],
    ['event_id'],
    ['event_type'],
    ['occurred_at'],
    ['tenant'],
    ['source'],
    ['source', 'kind'],
    ['source', 'id'],
    ['issuer'],
    ['client_id'],
    ['subject'],
    ['token'],
    ['token', 'jti'],
    ['token', 'fingerprint'],
    ['token', 'iat'],
    ['token', 'exp'],
    ['token', 'aud'],
    ['token', 'format'],
    ['resource'],
    ['presented_aud'],
    ['aud_validated'],
    ['decision'],
    ['reason'],
    ['tool'],
    ['tool', 'name'],
    ['http'],
    ['http', 'method'],
    ['http', 'status'],
  ]
  const wrongValues: unknown[] = [42, 'text', true, null, [], { nested: 1 }]
  for (const path of fields)
    for (const value of wrongValues) {
      const e = presentedEvent()
      let current: unknown = e
      for (const p of path) current = (current as Record<string, unknown>)[p]
      // Skip a "wrong" value that has the right type for this field.
      if (
        typeof current === typeof value &&
        Array.isArray(current) === Array.isArray(value) &&
        value !== null
      )
        continue
      if (path.join('.') === 'presented_aud' && Array.isArray(value)) continue
      add(`${path.join('.')} as ${json(value)}`, withField(path, value))
    }

  // Missing required fields
  for (const path of [
    ['schema_version'],
    ['event_id'],
    ['event_type'],
    ['occurred_at'],
    ['source'],
    ['source', 'kind'],
    ['source', 'id'],
    ['resource'],
    ['aud_validated'],
    ['decision'],
    ['reason'],
    ['token'],
  ])
    add(`missing ${path.join('.')}`, without(path))

  // Huge strings and arrays
  const mega = 'A'.repeat(1_000_000)
  for (const path of [['client_id'], ['resource'], ['tool', 'name'], ['subject'], ['token', 'jti']])
    add(`1 MB string in ${path.join('.')}`, withField(path, mega))
  add(
    '10 000 audiences',
    withField(
      ['presented_aud'],
      Array.from({ length: 10_000 }, (_, i) => `https://r${i}.example`),
    ),
  )
  add(
    '100 000 scopes',
    withField(
      ['token', 'scopes'],
      Array.from({ length: 100_000 }, () => 's'),
    ),
  )
  add(
    '5 000 attributes',
    json({
      ...presentedEvent(),
      attributes: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])),
    }),
  )

  // Deep nesting
  for (const depth of [20, 100, 1000]) {
    let nested: unknown = 'leaf'
    for (let i = 0; i < depth; i++) nested = { n: nested }
    add(`nesting ${depth} deep`, json({ ...presentedEvent(), extra: nested }))
  }
  add('nesting 5000 deep arrays', `{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`)

  // Prototype keys
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    add(`${key} at the root`, json(presentedEvent()).replace('{', `{"${key}":{"isAdmin":true},`))
    add(
      `${key} in token`,
      json(presentedEvent()).replace('"token":{', `"token":{"${key}":{"x":1},`),
    )
  }

  // Control characters and log injection
  for (const [i, s] of ['\n', '\r\n', '\u0000', '\u001b[31m', '\u0007', '\u007f', '\t'].entries()) {
    add(`control character #${i} in client_id`, withField(['client_id'], `agent${s}level=error`))
    add(
      `control character #${i} in resource`,
      withField(['resource'], `https://mcp.example.com/${s}`),
    )
  }
  // Lone surrogates: escapes JSON allows that spell no character
  add('lone high surrogate in subject', withField(['subject'], 'a\ud800b'))
  add(
    'lone low surrogate in an aud',
    json(presentedEvent()).replace('"presented_aud":[', '"presented_aud":["\\udc00",'),
  )
  add('lone surrogate in an unknown key', json(presentedEvent()).replace('{', '{"x\\ud83d":"y",'))
  add(
    'lone surrogate in an attribute value',
    json(presentedEvent({ attributes: { note: 'n' } })).replace('"note":"n"', '"note":"\\udfff"'),
  )
  add('forged log line in subject', withField(['subject'], 'x\n{"level":50,"msg":"admin login"}'))
  add('CRLF header injection in tool name', withField(['tool', 'name'], 'read\r\nSet-Cookie: a=b'))

  // Raw tokens where only fingerprints belong (they are cut out of the stored payloads too)
  add('raw JWT as an unknown field', json({ ...presentedEvent(), access_token: HOSTILE_JWT }))
  add('raw JWT as an attribute', json(presentedEvent({ attributes: { auth: HOSTILE_JWT } })))
  add(
    'raw JWT after Bearer in an attribute',
    withField(['attributes'], { h: `Bearer ${HOSTILE_JWT}` }),
  )
  add('raw JWT as token.jti', withField(['token', 'jti'], HOSTILE_JWT))
  add(
    'raw JWT in an http path',
    withField(['http'], { method: 'GET', path: `/x?t=${HOSTILE_JWT}` }),
  )
  add('raw JWT as an attribute key', json(presentedEvent({ attributes: { [HOSTILE_JWT]: 'x' } })))
  add('raw JWT as the event_id', withField(['event_id'], HOSTILE_JWT))
  add(
    'raw JWT after an escaped line feed',
    json(presentedEvent({ attributes: { h: `Authorization:\n${HOSTILE_JWT}` } })),
  )
  add(
    'raw JWT with escaped dots',
    json(presentedEvent({ attributes: { h: HOSTILE_JWT } })).replace(
      HOSTILE_JWT,
      HOSTILE_JWT.replaceAll('.', '\\u002e'),
    ),
  )
  add(
    'raw JWT glued to base64url characters',
    json(presentedEvent({ attributes: { h: `at_${HOSTILE_JWT}` } })),
  )
  add(
    'raw JWT after a percent-encoded Bearer',
    withField(['http'], { method: 'GET', path: `/cb?h=Bearer%20${HOSTILE_JWT}` }),
  )
  add(
    'raw JWT percent-encoded in the resource',
    withField(
      ['resource'],
      // Every `e` escaped: no header start shows before the escapes are decoded.
      `https://mcp.example.com/mcp?t=${HOSTILE_JWT.replaceAll('e', '%65').replaceAll('.', '%2E')}`,
    ),
  )
  add('raw JWT in malformed JSON', `{"token":"${HOSTILE_JWT}",`)
  add(
    'raw JWT between bytes that are not UTF-8',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HOSTILE_JWT), Buffer.from([0xc3])]),
  )
  // Headers a JOSE library reads that do not start `eyJ`, and unusual first members: each keeps
  // HOSTILE_JWT's payload and signature, so that no part of them may be stored.
  for (const [name, header] of [
    ['a tab after its brace', '{\t"alg":"RS256","typ":"at+jwt"}'],
    ['whitespace before its brace', ' \r\n {"alg":"RS256"}'],
    ['a byte order mark', '\ufeff{"alg":"RS256"}'],
    ['x5t#S256 as its first member', '{"x5t#S256":"bm90LWEtdGh1bWJwcmludA","alg":"RS256"}'],
    ['a 40-character first key', `{"${'x'.repeat(40)}":1,"alg":"RS256"}`],
    ['an escaped first key', '{"\\u0061lg":"RS256"}'],
    ['a UTF-8 first key', '{"schlüssel":"v","alg":"RS256"}'],
  ]) {
    const token = [Buffer.from(header!).toString('base64url'), ...HOSTILE_JWT.split('.').slice(1)]
    add(
      `raw JWT whose header has ${name}`,
      json(presentedEvent({ attributes: { h: token.join('.') } })),
    )
  }
  // Not JSON (an NDJSON line cut short), so stored as it came: escapes a JSON or URL decoder
  // undoes must not hide the token there.
  for (const [name, spelled] of [
    ['\\u002e for its dots', HOSTILE_JWT.replaceAll('.', '\\u002e')],
    ['\\u0065 for its first letter', `\\u0065${HOSTILE_JWT.slice(1)}`],
    ['%2E for its dots', HOSTILE_JWT.replaceAll('.', '%2E')],
    ['%252E for its dots', HOSTILE_JWT.replaceAll('.', '%252E')],
    ['%5Cu002e for its dots', HOSTILE_JWT.replaceAll('.', '%5Cu002e')],
    ['\\u00252E for its dots', HOSTILE_JWT.replaceAll('.', '\\u00252E')],
    ['every e as %65', HOSTILE_JWT.replaceAll('e', '%65')],
  ])
    add(`raw JWT with ${name} in malformed JSON`, `{"u":"https:\\/\\/x\\/?t=${spelled}","n":`)
  add(
    'raw JWT spelled with JSON escapes inside a string',
    json(presentedEvent({ attributes: { h: HOSTILE_JWT.replaceAll('.', '\\u002e') } })),
  )

  // Text that makes a careless search for JWTs take quadratic time
  add(
    'eyJ repeated over 1 MB in an attribute',
    withField(['attributes'], { n: 'eyJ'.repeat(330_000) }),
  )
  add(
    'dash and JWT header repeated over 1 MB in subject',
    withField(['subject'], '-eyJaaaaaaaaaaaa'.repeat(60_000)),
  )

  // SQL injection where the contract forbids the characters
  for (const [i, s] of [
    "' OR 1=1 --",
    "'; DROP TABLE events; --",
    '1; SELECT * FROM system.users',
    "\\' UNION SELECT 1",
  ].entries()) {
    add(`SQL in event_id #${i}`, withField(['event_id'], s))
    add(`SQL in tenant #${i}`, withField(['tenant'], s))
    add(`SQL in occurred_at #${i}`, withField(['occurred_at'], s))
    add(`SQL in token.fingerprint #${i}`, withField(['token', 'fingerprint'], s))
    add(`SQL in decision #${i}`, withField(['decision'], s))
  }

  // Invalid timestamps
  for (const ts of [
    '2026-13-01T00:00:00.000Z',
    '2026-02-30T00:00:00.000Z',
    '2026-11-22T25:00:00.000Z',
    '2026-11-22T10:00:00Z',
    '2026-11-22T10:00:00.0000Z',
    '2026-11-22 10:00:00.000',
    '2026-11-22T10:00:00.000+02:00',
    '1795341601',
    '',
    'yesterday',
    '9999-12-31T23:59:59.999Z',
    '1970-01-01T00:00:00.000Z',
  ])
    add(`occurred_at ${json(ts)}`, withField(['occurred_at'], ts))

  // Unknown event types and versions
  for (const t of [
    'token.revoked',
    'TOKEN.PRESENTED',
    'token.presented ',
    '',
    'authorization.requested.v2',
  ])
    add(`event_type ${json(t)}`, withField(['event_type'], t))
  for (const v of [0, 2, '1', 1.5])
    add(`schema_version ${json(v)}`, withField(['schema_version'], v))

  return cases
}
