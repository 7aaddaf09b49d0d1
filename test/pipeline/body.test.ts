import { describe, expect, it } from 'vitest'
import { isBlankLine, splitJson, splitNdjson } from '../../src/pipeline/body.js'
import { seededRandom } from '../helpers/random.js'

const TRICKY = ['', '"', '\\', '\\"', ']', '[', '}', '{', ',', '\n', '\u2028', 'é', '\u{1F600}']

function jsonValue(rnd: () => number, depth = 0): unknown {
  const pick = Math.floor(rnd() * (depth > 4 ? 5 : 7))
  const str = () =>
    Array.from({ length: Math.floor(rnd() * 4) }, () => TRICKY[Math.floor(rnd() * TRICKY.length)])
      .join('')
      .concat(String(Math.floor(rnd() * 100)))
  switch (pick) {
    case 0:
      return null
    case 1:
      return rnd() < 0.5
    case 2:
      return Math.round((rnd() - 0.5) * 1e6) / 100
    case 3:
    case 4:
      return str()
    case 5:
      return Array.from({ length: Math.floor(rnd() * 4) }, () => jsonValue(rnd, depth + 1))
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(rnd() * 4) }, () => [str(), jsonValue(rnd, depth + 1)]),
      )
  }
}

const bytes = (s: string) => Buffer.from(s)
const texts = (items: { payload: Uint8Array }[]) =>
  items.map((i) => Buffer.from(i.payload).toString())

describe('splitJson', () => {
  it.each(Array.from({ length: 40 }, (_, seed) => [seed]))(
    'cuts a random array (seed %i) into exactly its elements, whatever the spacing',
    (seed) => {
      const rnd = seededRandom(seed)
      const elements = Array.from({ length: Math.floor(rnd() * 8) + 1 }, () => jsonValue(rnd))
      for (const text of [
        JSON.stringify(elements),
        JSON.stringify(elements, null, 2),
        `\r\n [ ${elements.map((e) => JSON.stringify(e)).join(' ,\t')} ]\n`,
      ]) {
        const split = splitJson(bytes(text), 1000)
        if ('ok' in split) throw new Error(`refused ${text}`)
        expect(split.single).toBe(false)
        expect(split.count).toBe(elements.length)
        expect(split.items.map((i) => i.index)).toEqual(elements.map((_, i) => i))
        expect(texts(split.items).map((t) => JSON.parse(t) as unknown)).toEqual(elements)
      }
    },
  )

  it('takes any other value as the one event, and refuses what does not hold together', () => {
    for (const one of ['{"a":[1,2]}', '"x"', '12', 'null', ' {"a":1} ', 'hello'])
      expect(splitJson(bytes(one), 10)).toEqual({
        items: [{ index: 0, payload: bytes(one.trim()) }],
        count: 1,
        single: true,
      })
    for (const bad of ['', '  ', '[', '[1', '[1,', '[1,]', '[,1]', '[1 2]', '[1]]', '[1],', '["a]'])
      expect(splitJson(bytes(bad), 10), bad).toEqual({ ok: false })
    expect(splitJson(bytes('[]'), 10)).toEqual({ items: [], count: 0, single: false })
  })

  it('leaves an element that is not JSON to the parser: its neighbours are still cut out', () => {
    const split = splitJson(bytes('[{"a":}, {"b":1}, [1,], {"c":"]"}, nul, {"a" 1}, "\\\\"]'), 10)
    if ('ok' in split) throw new Error('refused')
    expect(texts(split.items)).toEqual([
      '{"a":}',
      '{"b":1}',
      '[1,]',
      '{"c":"]"}',
      'nul',
      '{"a" 1}',
      '"\\\\"',
    ])
  })

  it('counts nesting 1 000 000 levels deep without recursing, and past the limit only counts', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`
    const split = splitJson(bytes(`[${deep},1,2,3]`), 2)
    if ('ok' in split) throw new Error('refused')
    expect(split.count).toBe(4)
    expect(split.items.map((i) => i.payload.byteLength)).toEqual([deep.length, 1])
  })
})

describe('splitNdjson', () => {
  it('gives each non-blank line with its 0-based line number, CRLF or LF', () => {
    const body = 'a\n\n  \t\r\nb\r\nc'
    expect(splitNdjson(bytes(body), 10)).toEqual({
      items: [
        { index: 0, payload: bytes('a') },
        { index: 3, payload: bytes('b') },
        { index: 4, payload: bytes('c') },
      ],
      count: 3,
    })
    expect(splitNdjson(bytes('a\nb\nc\n'), 2).count).toBe(3)
    expect(splitNdjson(bytes('a\nb\nc\n'), 2).items).toHaveLength(2)
  })

  it('keeps bytes that are not UTF-8 as they are (for the decoder to refuse)', () => {
    const body = Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0d, 0x0a, 0xc3])
    const { items } = splitNdjson(body, 10)
    expect(items.map((i) => [...i.payload])).toEqual([[0x61], [0xff, 0xfe], [0xc3]])
  })

  it('calls a line blank only when it holds JSON whitespace alone', () => {
    for (const blank of ['', ' ', '\t', '\r', ' \t \r'])
      expect(isBlankLine(bytes(blank))).toBe(true)
    for (const line of ['x', '\u00a0', '\ufeff', '\v', '\f', ' 1 '])
      expect(isBlankLine(bytes(line))).toBe(false)
  })
})
