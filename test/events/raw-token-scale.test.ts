/**
 * The raw JWT scan on a megabyte of near misses: read in a few passes, holding none (moved out of
 * raw-token.test.ts so that the mutation runs, whose instrumented code is many times slower,
 * can leave these sizes out; the behaviour on short inputs stays in raw-token.test.ts).
 */
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { holdsRawJwt, withoutRawJwts, withoutRawJwtText } from '../../src/events/raw-token.js'

const key = new TextEncoder().encode('k'.repeat(32))
const signed = await new SignJWT({ sub: 'alice', client_id: 'agent' })
  .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
  .setAudience('https://mcp.example.com/')
  .setExpirationTime('5m')
  .sign(key)
const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64url')

describe('a megabyte of near misses', () => {
  it('reads a megabyte of near misses in one pass (each eyJ inside a run is not a start)', () => {
    const nearMisses = ['eyJ'.repeat(330_000), '-eyJaaaaaaaaaaaa'.repeat(60_000)]
    for (const text of nearMisses) {
      expect(holdsRawJwt(text)).toBe(false)
      const bytes = Buffer.from(text)
      expect(withoutRawJwts(bytes)).toBe(bytes)
    }
    expect(holdsRawJwt(`${nearMisses[1]} ${signed}`)).toBe(true)
  })
})

describe('near misses a megabyte long', () => {
  it.each([
    ['a header start glued in runs, dotted', 'eyJeyJeyJeyJeyJeyJ.x.'],
    ['encoded spaces, then a brace, dotted', `${b64(' '.repeat(3000))}.x.`],
    ['rarer candidates, dotted', 'XsiHsgnsN17Ip7Cl7DB7I.a.'],
    ['%25 chains', '%25'],
    ['a percent-escaped header start', '%65yJ'],
    ['a JSON-escaped header start', '\\u0065yJ'],
    ['escaped backslashes', '\\\\'],
    ['percent-escaped dots', 'a%2E'],
  ])('are read in a few passes and hold none: %s', (_, unit) => {
    const text = unit.repeat(Math.ceil(1_000_000 / unit.length))
    expect(holdsRawJwt(text)).toBe(false)
    expect(withoutRawJwtText(text)).toBe(text)
    const bytes = Buffer.from(text)
    expect(withoutRawJwts(bytes)).toBe(bytes)
  })
})
