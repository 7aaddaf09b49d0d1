/**
 * What the raw-token screen cuts (src/events/raw-token/text.ts, payload.ts, escapes.ts): the
 * survivors of the mutation run of `events/raw-token-cut` (issue 31, docs/design/mutation.md),
 * each a behaviour raw-token.test.ts did not hold. Short inputs, no randomness.
 */
import { describe, expect, it } from 'vitest'
import {
  holdsRawJwt,
  RAW_JWT_REMOVED,
  withoutRawJwts,
  withoutRawJwtText,
} from '../../src/events/raw-token.js'

const b64 = (text: string) => Buffer.from(text).toString('base64url')
const HEADER = b64('{"alg":"HS256","typ":"JWT"}')
const CLAIMS = b64('{"sub":"alice","aud":"https://mcp.example.com/"}')
const SIGNATURE = 'c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NTY3ODkw'
const SIGNED = `${HEADER}.${CLAIMS}.${SIGNATURE}`
const UNSECURED = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
const R = RAW_JWT_REMOVED

/** A non-JSON payload's bytes (an unterminated JSON text), cut in place. */
const inPlace = (text: string) => withoutRawJwts(Buffer.from(text, 'latin1')).toString('latin1')

describe('a token found as it is, beside escapes that decode to something else', () => {
  it('is cut alone, the escapes kept', () => {
    // %41 decodes to `A` (a base64url character): the text is decoded and scanned again, and
    // the same token found there lies exactly where it is found as it is.
    expect(withoutRawJwtText(`x%41 ${SIGNED} y`)).toBe(`x%41 ${R} y`)
    expect(withoutRawJwtText(`${SIGNED} \\u0041`)).toBe(`${R} \\u0041`)
  })

  it('are each cut alone when two layers of escapes show them twice', () => {
    // %2541 is decoded twice (%41, then A): each layer finds both tokens again.
    expect(withoutRawJwtText(`x%2541 ${SIGNED} y ${UNSECURED} z`)).toBe(`x%2541 ${R} y ${R} z`)
    expect(withoutRawJwtText(`${UNSECURED} y ${SIGNED} %2541`)).toBe(`${R} y ${R} %2541`)
  })

  it('has the whole string replaced when, decoded, it reaches further than it shows', () => {
    expect(withoutRawJwtText(`a ${SIGNED}%41%41 b`)).toBe(R)
    // In a payload that is not JSON, what spells it once decoded is cut too.
    expect(inPlace(`{"a ${SIGNED}%41%41 b`)).toBe(`{"a ${R} b`)
    expect(inPlace(`{"a %65${SIGNED.slice(1)} b ${UNSECURED}`)).toBe(`{"a ${R} b ${R}`)
  })
})

describe('escapes nested layer upon layer', () => {
  /** Each dot written as `%2E` with `%` itself escaped `k` times (`%25...252E`). */
  const nested = (k: number) => SIGNED.replaceAll('.', `%${'25'.repeat(k)}2E`)

  it('are decoded up to eight layers, no further (raw-token.ts)', () => {
    for (let k = 0; k <= 8; k++) {
      expect(holdsRawJwt(`t=${nested(k)}`), String(k)).toBe(true)
      expect(withoutRawJwtText(`t=${nested(k)}`), String(k)).not.toContain(HEADER)
    }
    // Past the documented depth the check and the cut agree: neither decodes a ninth layer.
    expect(holdsRawJwt(`t=${nested(9)}`)).toBe(false)
    expect(withoutRawJwtText(`t=${nested(9)}`)).toBe(`t=${nested(9)}`)
  })
})

describe('what an escape decodes to', () => {
  /** `{"alg":"none"}` encodes to 19 characters and one `=` of padding. */
  const PADDED = `${b64('{"alg":"none"}')}=`

  it('an escaped `=` is padding, so the dot after it ends the header', () => {
    expect(PADDED.endsWith('==')).toBe(false)
    for (const eq of ['%3D', '%3d', '\\u003d', '\\u003D'])
      expect(holdsRawJwt(`${PADDED.slice(0, -1)}${eq}.${CLAIMS}.`), eq).toBe(true)
  })

  it('a character above U+00FF never spells a JWT, escaped or not', () => {
    // U+0165 and U+0165 escaped: their low byte is `e`, which they must not be taken for.
    for (const text of [
      `\u0165${SIGNED.slice(1)} %41`,
      `\\u0165${SIGNED.slice(1)} %41`,
      `%41 ${HEADER.slice(0, -1)}\u0139.${CLAIMS}.x`,
    ])
      expect(holdsRawJwt(text), text).toBe(false)
  })

  it('a token whose last character is escaped, at the end of the text, is cut to the end', () => {
    const last = SIGNED.at(-1)!.charCodeAt(0).toString(16)
    expect(inPlace(`{"a %65${SIGNED.slice(1, -1)}%${last}`)).toBe(`{"a ${R}`)
    expect(inPlace(`{"a ${SIGNED.slice(0, -1)}%${last}`)).toBe(`{"a ${R}`)
  })
})

describe('withoutRawJwts', () => {
  it('cuts a token out of a payload that is a JSON string, and keeps one that holds none', () => {
    const kept = withoutRawJwts(Buffer.from(JSON.stringify(`Bearer ${SIGNED}`)))
    expect(kept.toString()).toBe(JSON.stringify(`Bearer ${R}`))
    const none = Buffer.from(JSON.stringify('100% sure \\ eyJ'))
    expect(withoutRawJwts(none)).toBe(none)
  })

  it('walks arrays in arrays, objects in arrays, and skips null and other values', () => {
    const payload = {
      a: [[{ b: [SIGNED, 1] }], null, true, 2.5, [[[`x ${UNSECURED}`]]]],
      c: null,
      d: { e: { f: SIGNED } },
    }
    expect(JSON.parse(withoutRawJwts(Buffer.from(JSON.stringify(payload))).toString())).toEqual({
      a: [[{ b: [R, 1] }], null, true, 2.5, [[[`x ${R}`]]]],
      c: null,
      d: { e: { f: R } },
    })
  })

  it('numbers a third key cut to the same text, and keeps its value', () => {
    const third = `${HEADER}.e30.`
    const payload = JSON.stringify({ [SIGNED]: 1, [UNSECURED]: 2, [third]: { k: SIGNED } })
    expect(JSON.parse(withoutRawJwts(Buffer.from(payload)).toString())).toEqual({
      [R]: 1,
      [`${R} #2`]: 2,
      [`${R} #3`]: { k: R },
    })
  })

  it('cuts a `__proto__` key or value as an own member', () => {
    const payload = `{"__proto__":"${SIGNED}","x":{"__proto__":{"${SIGNED}":"v"}}}`
    const kept = withoutRawJwts(Buffer.from(payload)).toString()
    expect(kept).toBe(`{"__proto__":"${R}","x":{"__proto__":{"${R}":"v"}}}`)
  })

  it('keeps a byte that is not UTF-8 in a JSON-looking payload as it was', () => {
    const bytes = Buffer.concat([
      Buffer.from(`{"a":"${SIGNED} `),
      Buffer.from([0xff]),
      Buffer.from('"}'),
    ])
    expect(withoutRawJwts(bytes)).toEqual(
      Buffer.concat([Buffer.from(`{"a":"${R} `), Buffer.from([0xff]), Buffer.from('"}')]),
    )
  })

  it('finds a token at the start of a payload whatever an earlier search left behind', () => {
    // The shared candidate expression keeps where its last search stopped; every search must
    // start at the beginning again.
    expect(holdsRawJwt(`${'x '.repeat(200)}${SIGNED}`)).toBe(true)
    const short = Buffer.from(`${UNSECURED} `)
    expect(withoutRawJwts(short).toString()).toBe(`${R} `)
  })
})

describe('what is not an escape', () => {
  /** The token with its dots as JSON escapes: found only once a layer is decoded. */
  const ESCAPED = SIGNED.replaceAll('.', '\\u002e')

  it('is kept as it is, so that the token after it is still found', () => {
    // `%`, `%` with a character above U+007F, `\u`, `\u00`, `\uzz0` and a backslash before the token
    // start no escape: its first characters (`e`, `y`...) stay the token's.
    for (const lead of ['%', '%\u00e9', '\\u', '\\u00', 'x\\u00', '\\uzz0'])
      expect(holdsRawJwt(`${lead}${ESCAPED}`), lead).toBe(true)
  })

  it('is no character of a header: a broken escape in its place leaves no JWT', () => {
    // `%3` and a character above U+007F in place of the header's `1` (0x31).
    expect(HEADER).toContain('1')
    const broken = HEADER.replace('1', '%3\u00e9')
    expect(holdsRawJwt(`${broken}\\u002e${CLAIMS}\\u002e${SIGNATURE}`)).toBe(false)
  })

  it('a backslash before a letter that is no JSON escape is kept, the token after it cut alone', () => {
    expect(withoutRawJwtText(`a \\${SIGNED} b`)).toBe(`a \\${R} b`)
  })

  it('\\b, \\f, \\r and \\t end a token as the control characters they are', () => {
    for (const esc of ['\\b', '\\f', '\\r', '\\t', '\\n'])
      expect(withoutRawJwtText(`${SIGNED}${esc}xyz`), esc).toBe(`${R}${esc}xyz`)
  })
})

describe('the marker and the places of what is cut', () => {
  it('is the text the issue and the runbooks name', () => {
    expect(RAW_JWT_REMOVED).toBe('[raw JWT removed]')
    expect(withoutRawJwtText(`a ${SIGNED} b`)).toBe('a [raw JWT removed] b')
  })

  it('a token at the end of a text decoded from one two-character escape is cut to the end', () => {
    // `\\` (one escaped backslash) is the only escape: the decoded text is one character
    // shorter, and its end maps back to the end of the text.
    expect(inPlace(`\\\\ ${SIGNED}`)).toBe(`\\\\ ${R}`)
  })

  it('a token right after the padding of another is cut with it, once, in a payload that is not JSON', () => {
    const padded = `${HEADER}.e30.c2ln==`
    expect(inPlace(`{"a ${padded}${SIGNED} b`)).toBe(`{"a ${R} b`)
  })

  it('a JSON array of strings holding none, with escapes, is kept as it came', () => {
    const bytes = Buffer.from('{"a":["x%41 y","\\\\u0041"],"b":[["z"]]}')
    expect(withoutRawJwts(bytes)).toBe(bytes)
  })
})
