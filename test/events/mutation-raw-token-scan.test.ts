/**
 * Where the raw-token screen finds a JWT (src/events/raw-token/find.ts, header.ts, chars.ts): the
 * survivors of the mutation run of `events/raw-token-scan` (issue 31, docs/design/mutation.md),
 * each a behaviour raw-token.test.ts did not hold. Short inputs, no randomness.
 */
import { describe, expect, it } from 'vitest'
import { holdsRawJwt, RAW_JWT_REMOVED, withoutRawJwtText } from '../../src/events/raw-token.js'
import { findRawJwts } from '../../src/events/raw-token/find.js'

const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64url')
const R = RAW_JWT_REMOVED
/** A token whose header is these bytes (or this text), with a short payload and signature. */
const tokenOf = (header: string | Uint8Array) => `${b64(header)}.e30.c2lnbmF0dXJl`
/** The UTF-8 bytes `{"`, then the key's bytes, then `":1}` and spaces (a header at least 16 long). */
const keyed = (key: number[]) =>
  Uint8Array.from([0x7b, 0x22, ...key, 0x22, 0x3a, 0x31, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20])

describe('the shortest text that can hold a JWT', () => {
  it('is a header of sixteen characters and two dots', () => {
    // `{"alg":"none` encodes to 16 characters: the start of a header, with empty segments.
    const shortest = `${b64('{"alg":"none')}..`
    expect(shortest).toHaveLength(18)
    expect(holdsRawJwt(shortest)).toBe(true)
    expect(withoutRawJwtText(shortest)).toBe(R)
    // With a payload and a signature after it (the dot after the header is not padding).
    expect(holdsRawJwt(`${b64('{"alg":"none')}.e30.c2ln`)).toBe(true)
    expect(withoutRawJwtText(`a ${b64('{"alg":"none')}.e30.c2ln b`)).toBe(`a ${R} b`)
    // Fifteen characters are too few, however the header starts.
    expect(holdsRawJwt(`${b64('{"alg":"none').slice(0, 15)}..`)).toBe(false)
  })
})

describe('the padding before a dot', () => {
  it('is one or two `=`, in the check and the cut alike', () => {
    const one = `${b64('{"alg":"none"}')}=` // 19 characters and one `=`
    const two = `${b64('{"alg":"none"  }')}==` // 22 characters and two
    for (const header of [one, two]) {
      expect(holdsRawJwt(`x ${header}.e30.c2ln y`), header).toBe(true)
      expect(withoutRawJwtText(`x ${header}.e30.c2ln y`), header).toBe(`x ${R} y`)
      // Percent-encoded dots after the padding, as a URL carries them.
      expect(withoutRawJwtText(`x ${header}%2Ee30%2Ec2ln y`), header).toBe(`x ${R} y`)
      // Padding after the payload and the signature is cut with them.
      expect(withoutRawJwtText(`x ${header}.e30==.c2ln== y`), header).toBe(`x ${R} y`)
    }
    // A third `=` is not padding: the dot after it ends no header.
    expect(holdsRawJwt(`x ${two}=.e30.c2ln y`)).toBe(false)
  })
})

describe('a dot', () => {
  const [h, p, s] = tokenOf('{"alg":"HS256","typ":"JWT"}').split('.')

  it('is `.`, `%2E` or `%2e`, not another percent-escape', () => {
    expect(withoutRawJwtText(`a ${h}%2e${p}%2E${s} b`)).toBe(`a ${R} b`)
    // %2F is `/`, %3E is `>`, %2D is `-`: none of them is a dot, in any layer of decoding.
    for (const escape of ['%2F', '%2f', '%3E', '%3e', '%2D', '%20', '%E', '%2', '2E'])
      expect(holdsRawJwt(`a ${h}${escape}${p}${escape}${s} b`), escape).toBe(false)
  })

  it('is no other character before `2E`, even where another dot makes the text worth a look', () => {
    const elsewhere = ` and ${'A'.repeat(16)}.z`
    for (const sep of ['/2E', ' 2E', ':2e', '&2E'])
      expect(holdsRawJwt(`a ${h}${sep}${p}${sep}${s}${elsewhere}`), sep).toBe(false)
    expect(holdsRawJwt(`a ${h}%2E${p}%2E${s}${elsewhere}`)).toBe(true)
  })

  it('ends the five segments of a JWE at most: what follows a fifth is kept', () => {
    expect(withoutRawJwtText(`${h}.${p}.${s}.iv.tag b`)).toBe(`${R} b`)
    expect(withoutRawJwtText(`${h}.${p}.${s}.iv.tag.more b`)).toBe(`${R}.more b`)
    expect(withoutRawJwtText(`${h}.${p}.${s}.iv.tag.more.x b`)).toBe(`${R}.more.x b`)
  })
})

describe('where each token is found', () => {
  it('gives each token its own range, in order, and resumes after each', () => {
    const a = tokenOf('{"alg":"HS256"}')
    const c = tokenOf('{"alg":"none"}  ')
    const text = `x ${a} y ${c} z`
    const found: [number, number][] = []
    expect(findRawJwts(text, found)).toBe(true)
    expect(found).toEqual([
      [2, 2 + a.length],
      [text.indexOf(c), text.indexOf(c) + c.length],
    ])
  })

  it('finds a JWE whose encrypted key looks like a header once, from its own header', () => {
    // The second segment is itself a header spelling with two dots after it: one token, not two.
    const inner = b64('{"alg":"none","x":1}')
    const jwe = `${b64('{"alg":"dir"}   ')}.${inner}.aXY.Y3Q.dGFn`
    const found: [number, number][] = []
    expect(findRawJwts(`a ${jwe} b`, found)).toBe(true)
    expect(found).toEqual([[2, 2 + jwe.length]])
  })

  it('answers without a list, stopping at the first', () => {
    expect(findRawJwts(`x ${tokenOf('{"alg":"none"}  ')} y`)).toBe(true)
    expect(findRawJwts('x y z'.repeat(10))).toBe(false)
  })

  it('takes a token at the very start of the text', () => {
    const t = tokenOf('{"alg":"HS256"}')
    const found: [number, number][] = []
    expect(findRawJwts(t, found)).toBe(true)
    expect(found).toEqual([[0, t.length]])
  })
})

describe('the start of a header', () => {
  it('takes a group of whitespace or a byte order mark before the brace into the token', () => {
    for (const lead of ['   ', '\t\t\t', '\n\r ', '\ufeff', '\ufeff   ', '      ']) {
      const t = tokenOf(`${lead}{"alg":"HS256"}`)
      for (const before of ['', 'a ', 'Bearer ', 'xyzw']) {
        const text = `${before}${t} b`
        const found: [number, number][] = []
        expect(findRawJwts(text, found), JSON.stringify([lead, before])).toBe(true)
        // A base64url neighbour is glued to the token (one run): the cut starts at the header's
        // first group of whitespace when the text is not.
        if (before !== 'xyzw')
          expect(found, JSON.stringify([lead, before])).toEqual([
            [before.length, before.length + t.length],
          ])
      }
    }
  })

  it('does not take a group that is not all whitespace (or a BOM) into the token', () => {
    // `ab {` then the header: `YWIg` is one group of letters and a space, not whitespace only.
    const t = b64('ab {"alg":"HS256"}')
    const text = `x ${t}.e30.c2ln y`
    const found: [number, number][] = []
    expect(findRawJwts(text, found)).toBe(true)
    // The `{` is the third byte of the second group: the token starts at that group.
    expect(found).toEqual([[6, text.length - 2]])
  })
})

describe('a header key', () => {
  const found = (bytes: Uint8Array) => holdsRawJwt(tokenOf(bytes))
  const text = (key: string) => keyed([...Buffer.from(key)])

  it('holds any printable character, a space included', () => {
    expect(found(text(' '))).toBe(true)
    expect(found(text('a b'))).toBe(true)
    expect(found(text('~'))).toBe(true)
    expect(found(keyed([0x1f]))).toBe(false)
    expect(found(keyed([0x7f]))).toBe(true)
  })

  it('holds each of the eight escapes of JSON, and `\\u` with four hex digits', () => {
    for (const e of ['"', '\\', '/', 'b', 'f', 'n', 'r', 't'])
      expect(found(text(`a\\${e}`)), e).toBe(true)
    for (const e of ['a', 'x', 'u', 'v', '0', "'", 'B', 'N']) {
      if (e === 'u') continue
      expect(found(text(`a\\${e}`)), e).toBe(false)
    }
    for (const hex of ['0030', '0039', '002a', '002A', '002f', '002F', '00ff', 'FFFF', '0041'])
      expect(found(text(`a\\u${hex}b`)), hex).toBe(true)
    for (const hex of ['002g', '002G', '00:0', '00/0', '00@0', '00`0', '12'])
      expect(found(text(`a\\u${hex}`)), hex).toBe(false)
  })

  it('holds UTF-8 of two, three and four bytes at the edges of each lead byte', () => {
    for (const c of [
      '\u0080',
      '£',
      '\u07ff',
      '\u0800',
      '\ue000',
      '\uffff',
      '\u{10000}',
      '\u{100000}',
      '\u{10ffff}',
    ])
      expect(found(text(`k${c}k`)), c.codePointAt(0)!.toString(16)).toBe(true)
    // Continuation bytes 0x80 and 0xbf, at the end of two-, three- and four-byte sequences.
    for (const bytes of [
      [0xc2, 0x80],
      [0xc2, 0xbf],
      [0xe0, 0xbf, 0x80],
      [0xef, 0x80, 0xbf],
      [0xf0, 0x80, 0x80, 0xbf],
      [0xf4, 0xbf, 0xbf, 0x80],
    ])
      expect(found(keyed([0x6b, ...bytes, 0x6b])), bytes.join()).toBe(true)
  })

  it('holds no byte that is not UTF-8', () => {
    for (const bytes of [
      [0x80], // a continuation byte without a lead
      [0xbf],
      [0xc0, 0x80], // leads that only make overlong forms
      [0xc1, 0xbf],
      [0xf5, 0x80, 0x80, 0x80], // past U+10FFFF
      [0xff],
      [0xc2, 0x7f], // a lead, then no continuation
      [0xc2, 0xc0],
      [0xe0, 0x80, 0x7f], // a three-byte sequence cut short
      [0xf0, 0x80, 0x80, 0x22], // a four-byte sequence ended by the quote
      [0xc2, 0x80, 0x80], // one continuation too many
    ])
      expect(found(keyed([0x6b, ...bytes, 0x6b])), bytes.join()).toBe(false)
  })
})

describe('after a header key', () => {
  const found = (header: string) => holdsRawJwt(tokenOf(header.padEnd(16)))

  it('comes whitespace, a colon, whitespace and the first byte of a value', () => {
    for (const v of ['"x"', '{}', '[1]', '-1', '0', '5', '9', 'true', 'false', 'null'])
      expect(found(`{"a" : ${v}}`), v).toBe(true)
    for (const v of ['/', ':', 'x', '}', ']', ',', '+1', '.5', 'T', 'N', '\u0000'])
      expect(found(`{"a":${v}1}`), v).toBe(false)
    expect(found('{"a" x:1}')).toBe(false)
    expect(found('{"a" ,1}')).toBe(false)
    expect(found('{"a"\t\r\n:\t\r\n1}')).toBe(true)
  })

  it('is not reached when the brace is followed by anything but whitespace and a quote', () => {
    for (const open of ['{ x"', '{x"', '{\u000b"', '{{"', '{1"'])
      expect(found(`${open}a":1}`), open).toBe(false)
    expect(found('{ \t\r\n"a":1}')).toBe(true)
  })
})

describe('the characters of a token', () => {
  it('are every base64url character, the edges of each range included', () => {
    const header = b64('{"alg":"HS256"}')
    for (const c of ['0', '9', 'A', 'Z', 'a', 'z', '-', '_']) {
      const t = `${header}.e30.${c}sig${c}`
      expect(withoutRawJwtText(`(${t})`), c).toBe(`(${R})`)
      // In the payload too, which the cut must reach past.
      expect(withoutRawJwtText(`(${header}.${c}e30${c}.sig)`), c).toBe(`(${R})`)
    }
    for (const c of ['/', ':', '@', '[', '`', '{', '+', '~', ' ']) {
      const t = `${header}.e30.sig`
      expect(withoutRawJwtText(`${t}${c}tail`), c).toBe(`${R}${c}tail`)
    }
  })
})

describe('a candidate that is no header', () => {
  it('needs whitespace before a brace that is not the first byte of its group', () => {
    for (const lead of ['a', 'ab', ' a', 'a '])
      expect(holdsRawJwt(tokenOf(`${lead}{"alg":"HS256"}`)), lead).toBe(false)
  })

  it('needs base64url characters before it in its group', () => {
    // `I l7I...`: read as one group, `I?l7` would be a space, a tab and the brace (a character that
    // is not base64url reads as zero), but the space splits the run: no header starts there.
    expect(holdsRawJwt('I l7ImFsZyI6IkhTMjU2In0.e30.c2ln')).toBe(false)
    expect(holdsRawJwt('IAl7ImFsZyI6IkhTMjU2In0.e30.c2ln')).toBe(true)
  })

  it('needs the key, the colon and a value inside its segment', () => {
    expect(holdsRawJwt(`${b64(`{"${'a'.repeat(30)}`)}.e30.c2ln`)).toBe(false)
    // `{"algorithm_xx":` ends on a lone byte; a non-canonical last character (`j`, not `g`) must
    // not be read as a value after the segment's end.
    const h = b64('{"algorithm_xx":')
    expect(h.endsWith('Og')).toBe(true)
    expect(holdsRawJwt(`${h}.e30.c2ln`)).toBe(false)
    expect(holdsRawJwt(`${h.slice(0, -1)}j.e30.c2ln`)).toBe(false)
  })

  it('is no token when its header segment is shorter than sixteen, whatever else the text holds', () => {
    const long = `${'A'.repeat(16)}.z`
    expect(holdsRawJwt(`eyJhIjoxfQ.x.y and ${long}`)).toBe(false)
    expect(holdsRawJwt(`a short one: eyJhIjoxfQ.x.y and ${long}`)).toBe(false)
    expect(holdsRawJwt(`a long one: ${b64('{"a":1}         ')}.x.y and ${long}`)).toBe(true)
  })
})

describe('the group before a header', () => {
  it('is taken into the token only when all its three bytes are whitespace', () => {
    const t = (lead: string) => `${b64(`${lead}{"alg":"HS256"}`)}.e30.c2ln`
    // A group of whitespace that only shows as such once a character not base64url reads as zero.
    const h = t('')
    expect(withoutRawJwtText(`IC.g${h} b`)).toBe(`IC.g${R} b`) // `ICAg`: three spaces
    expect(withoutRawJwtText(`I.kg${h} b`)).toBe(`I.kg${R} b`) // `IAkg`: a space, a tab, a space
    expect(withoutRawJwtText(`ICAg${h} b`)).toBe(`${R} b`)
    expect(withoutRawJwtText(`IAkg${h} b`)).toBe(`${R} b`)
    // ` ab` and `ab ` are not whitespace: the token starts at the next group.
    for (const lead of [' ab', 'ab ', 'a  ', '  a', ' a ']) {
      const text = `x ${t(lead)} y`
      const found: [number, number][] = []
      expect(findRawJwts(text, found), lead).toBe(true)
      expect(found, lead).toEqual([[6, text.length - 2]])
    }
  })
})
