/** Tests for resource identifier canonicalization, drift keys, comparison and aliases. */
import { describe, expect, it } from 'vitest'
import {
  MAX_RESOURCE_LENGTH,
  RESOURCE_INVALID_REASONS,
  RESOURCE_WARNINGS,
  canonicalizeResource,
  compareResources,
  createAliasLookup,
} from '../../src/events/resource.js'
import type {
  ResourceComparison,
  ResourceInvalidReason,
  ResourceWarning,
} from '../../src/events/resource.js'

type ValidCase = [raw: string, canonical: string, driftKey: string, warnings: ResourceWarning[]]

const rfc3986Cases: ValidCase[] = [
  [
    'HTTPS://MCP.Example.COM/mcp',
    'https://mcp.example.com/mcp',
    'https://mcp.example.com/mcp',
    ['uppercase_scheme_or_host'],
  ],
  ['https://a.example/%7E', 'https://a.example/~', 'https://a.example/~', ['percent_encoding']],
  ['https://a.example/%41', 'https://a.example/A', 'https://a.example/a', ['percent_encoding']],
  [
    'https://a.example/x%2dy',
    'https://a.example/x-y',
    'https://a.example/x-y',
    ['percent_encoding'],
  ],
  [
    'https://a.example/%5f%2E',
    'https://a.example/_.',
    'https://a.example/_.',
    ['percent_encoding'],
  ],
  [
    'https://a.example/a%2fb',
    'https://a.example/a%2Fb',
    'https://a.example/a%2Fb',
    ['percent_encoding'],
  ],
  ['https://a.example/a%2Fb', 'https://a.example/a%2Fb', 'https://a.example/a%2Fb', []],
  [
    'https://a.example/%c3%A9',
    'https://a.example/%C3%A9',
    'https://a.example/%C3%A9',
    ['percent_encoding'],
  ],
  [
    'https://%41.example/x',
    'https://a.example/x',
    'https://a.example/x',
    ['uppercase_scheme_or_host', 'percent_encoding'],
  ],
  [
    'https://a.example/a/./b/../c',
    'https://a.example/a/c',
    'https://a.example/a/c',
    ['dot_segments'],
  ],
  [
    'https://a.example/a/b/..',
    'https://a.example/a/',
    'https://a.example/a',
    ['dot_segments', 'trailing_slash'],
  ],
  ['https://a.example/../../x', 'https://a.example/x', 'https://a.example/x', ['dot_segments']],
  [
    'https://a.example/a/%2E%2E/b',
    'https://a.example/b',
    'https://a.example/b',
    ['dot_segments', 'percent_encoding'],
  ],
  ['https://a.example/.', 'https://a.example', 'https://a.example', ['dot_segments']],
  ['https://a.example:443/mcp', 'https://a.example/mcp', 'https://a.example/mcp', ['default_port']],
  [
    'http://a.example:80/mcp',
    'http://a.example/mcp',
    'https://a.example/mcp',
    ['default_port', 'non_https'],
  ],
  ['wss://a.example:443', 'wss://a.example', 'wss://a.example', ['default_port']],
  [
    'ws://a.example:80/',
    'ws://a.example',
    'wss://a.example',
    ['default_port', 'empty_path_slash', 'non_https'],
  ],
  ['http://a.example:443', 'http://a.example:443', 'https://a.example', ['non_https']],
  ['https://a.example:8443/mcp', 'https://a.example:8443/mcp', 'https://a.example:8443/mcp', []],
  [
    'https://a.example:08443',
    'https://a.example:8443',
    'https://a.example:8443',
    ['port_leading_zeros'],
  ],
  [
    'https://a.example:0443',
    'https://a.example',
    'https://a.example',
    ['default_port', 'port_leading_zeros'],
  ],
  ['https://a.example:', 'https://a.example', 'https://a.example', ['empty_port']],
  [
    'https://a.example:/',
    'https://a.example',
    'https://a.example',
    ['empty_port', 'empty_path_slash'],
  ],
  ['https://a.example/', 'https://a.example', 'https://a.example', ['empty_path_slash']],
  ['https://a.example', 'https://a.example', 'https://a.example', []],
]

const mcpSpecCases: ValidCase[] = [
  ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp', 'https://mcp.example.com/mcp', []],
  ['https://mcp.example.com', 'https://mcp.example.com', 'https://mcp.example.com', []],
  [
    'https://mcp.example.com:8443',
    'https://mcp.example.com:8443',
    'https://mcp.example.com:8443',
    [],
  ],
  [
    'https://mcp.example.com/server/mcp',
    'https://mcp.example.com/server/mcp',
    'https://mcp.example.com/server/mcp',
    [],
  ],
]

const driftCases: ValidCase[] = [
  [
    'https://mcp.example.com/mcp/',
    'https://mcp.example.com/mcp/',
    'https://mcp.example.com/mcp',
    ['trailing_slash'],
  ],
  [
    'https://mcp.example.com/mcp//',
    'https://mcp.example.com/mcp//',
    'https://mcp.example.com/mcp',
    ['trailing_slash'],
  ],
  ['https://mcp.example.com/MCP', 'https://mcp.example.com/MCP', 'https://mcp.example.com/mcp', []],
  [
    'http://mcp.example.com/mcp',
    'http://mcp.example.com/mcp',
    'https://mcp.example.com/mcp',
    ['non_https'],
  ],
  [
    'https://mcp.example.com./mcp',
    'https://mcp.example.com./mcp',
    'https://mcp.example.com/mcp',
    ['host_trailing_dot'],
  ],
  [
    'https://mcp.example.com/mcp?',
    'https://mcp.example.com/mcp?',
    'https://mcp.example.com/mcp',
    ['query_component'],
  ],
  [
    'https://mcp.example.com/mcp?Tenant=A%7e',
    'https://mcp.example.com/mcp?Tenant=A~',
    'https://mcp.example.com/mcp?Tenant=A~',
    ['percent_encoding', 'query_component'],
  ],
  [
    'https://mcp.example.com/?x=1',
    'https://mcp.example.com?x=1',
    'https://mcp.example.com?x=1',
    ['empty_path_slash', 'query_component'],
  ],
  [
    'https://mcp.example.com?x=1',
    'https://mcp.example.com?x=1',
    'https://mcp.example.com?x=1',
    ['query_component'],
  ],
]

const otherCases: ValidCase[] = [
  [
    'https://bücher.example/api',
    'https://xn--bcher-kva.example/api',
    'https://xn--bcher-kva.example/api',
    ['idn_host'],
  ],
  [
    'https://BÜCHER.example/api',
    'https://xn--bcher-kva.example/api',
    'https://xn--bcher-kva.example/api',
    ['idn_host'],
  ],
  [
    'https://xn--bcher-kva.example/api',
    'https://xn--bcher-kva.example/api',
    'https://xn--bcher-kva.example/api',
    [],
  ],
  [
    'https://a.example/café',
    'https://a.example/caf%C3%A9',
    'https://a.example/caf%C3%A9',
    ['non_ascii'],
  ],
  ['https://[::1]:443/x', 'https://[::1]/x', 'https://[::1]/x', ['default_port']],
  [
    'https://[2001:DB8::1]:8443',
    'https://[2001:db8::1]:8443',
    'https://[2001:db8::1]:8443',
    ['uppercase_scheme_or_host'],
  ],
  ['https://[v1.fe]/x', 'https://[v1.fe]/x', 'https://[v1.fe]/x', []],
  ['https://127.0.0.1:9000/mcp', 'https://127.0.0.1:9000/mcp', 'https://127.0.0.1:9000/mcp', []],
  [
    'https://user:pa%73s@a.example/x',
    'https://user:pass@a.example/x',
    'https://user:pass@a.example/x',
    ['percent_encoding', 'userinfo'],
  ],
  ['urn:example:api', 'urn:example:api', 'urn:example:api', []],
  [
    'URN:Example:API:%7e',
    'urn:Example:API:~',
    'urn:example:api:~',
    ['uppercase_scheme_or_host', 'percent_encoding'],
  ],
  ['urn:example:a/./b', 'urn:example:a/./b', 'urn:example:a/./b', []],
  ['api://my-api', 'api://my-api', 'api://my-api', []],
  [
    'API://My-Api/',
    'api://my-api',
    'api://my-api',
    ['uppercase_scheme_or_host', 'empty_path_slash'],
  ],
  ['file:///etc/x', 'file:///etc/x', 'file:///etc/x', []],
  ['localhost:8080', 'localhost:8080', 'localhost:8080', ['no_authority']],
  [
    'mcp.example.com:8443/mcp',
    'mcp.example.com:8443/mcp',
    'mcp.example.com:8443/mcp',
    ['no_authority'],
  ],
  ['mailto:a@b.example', 'mailto:a@b.example', 'mailto:a@b.example', ['no_authority']],
  [
    'https://a.example/a:b@c;d=e,f',
    'https://a.example/a:b@c;d=e,f',
    'https://a.example/a:b@c;d=e,f',
    [],
  ],
]

const validCases: ValidCase[] = [...rfc3986Cases, ...mcpSpecCases, ...driftCases, ...otherCases]

const invalidCases: [raw: string, reason: ResourceInvalidReason][] = [
  ['', 'empty'],
  ['mcp.example.com', 'relative'],
  ['/mcp', 'relative'],
  ['mcp', 'relative'],
  ['my-api', 'relative'],
  ['//mcp.example.com/mcp', 'relative'],
  ['https://mcp.example.com#fragment', 'fragment'],
  ['https://mcp.example.com/mcp#', 'fragment'],
  ['::::', 'unparseable'],
  [':8443', 'unparseable'],
  ['1https://a.example', 'invalid_scheme'],
  ['-x:y', 'invalid_scheme'],
  ['https://[::1', 'invalid_authority'],
  ['https://[::1]x/', 'invalid_authority'],
  ['https://[1::2::3]/', 'invalid_authority'],
  ['https://[fe80::1%25eth0]/', 'invalid_authority'],
  ['https://a.example:https', 'invalid_authority'],
  ['https://a.example:1:2', 'invalid_authority'],
  ['https://a.example:65536', 'invalid_authority'],
  ['https://a@b@c.example', 'invalid_authority'],
  ['https://a_<b.example', 'invalid_authority'],
  ['https://bü%41cher.example', 'invalid_authority'],
  ['https://xn--zz.ü.example', 'invalid_authority'],
  ['https:example.com', 'missing_host'],
  ['https:/mcp', 'missing_host'],
  ['https:///mcp', 'missing_host'],
  ['https://user@/mcp', 'missing_host'],
  ['http://:8080', 'missing_host'],
  ['https://a.example/a\\b', 'invalid_character'],
  ['https://a.example/{x}', 'invalid_character'],
  ['https://a.example/[x]', 'invalid_character'],
  ['https://a.example/?q="x"', 'invalid_character'],
  ['https://a.example/\ud800', 'invalid_character'],
  ['https://a.example/%zz', 'invalid_percent_encoding'],
  ['https://a.example/%4', 'invalid_percent_encoding'],
  ['https://a.example?x=%', 'invalid_percent_encoding'],
  ['http://exa mple.com', 'whitespace_or_control'],
  [' https://a.example', 'whitespace_or_control'],
  ['https://a.example ', 'whitespace_or_control'],
  ['https://a.example/\n', 'whitespace_or_control'],
  ['https://a.exa\tmple', 'whitespace_or_control'],
  ['https://a.example/\u0000', 'whitespace_or_control'],
  ['https://a.example/\u00a0', 'whitespace_or_control'],
  ['https://bü\u00adcher.example', 'whitespace_or_control'],
  ['https://a.example/\u202e', 'whitespace_or_control'],
  ['\ufeffhttps://a.example', 'whitespace_or_control'],
]

describe('canonicalizeResource', () => {
  it.each(validCases)(
    'canonicalizes %s to %s with drift key %s',
    (raw, canonical, driftKey, warnings) => {
      expect(canonicalizeResource(raw)).toEqual({ raw, canonical, driftKey, valid: true, warnings })
    },
  )

  it.each(mcpSpecCases.map(([raw]) => raw))(
    'keeps the MCP spec example %s unchanged and without warnings',
    (raw) => {
      const result = canonicalizeResource(raw)
      expect(result.canonical).toBe(raw)
      expect(result.warnings).toEqual([])
    },
  )

  it.each(invalidCases)('marks %j invalid because it is %s', (raw, reason) => {
    expect(canonicalizeResource(raw)).toEqual({
      raw,
      canonical: raw,
      driftKey: raw,
      valid: false,
      invalidReason: reason,
      warnings: [],
    })
  })

  it.each(validCases.map(([raw]) => raw))('is idempotent and keeps the drift key for %s', (raw) => {
    const first = canonicalizeResource(raw)
    const second = canonicalizeResource(first.canonical)
    expect(second.valid).toBe(true)
    expect(second.canonical).toBe(first.canonical)
    expect(second.driftKey).toBe(first.driftKey)
    expect(canonicalizeResource(first.driftKey).driftKey).toBe(first.driftKey)
  })

  it('reports warnings only from the documented set, in its order', () => {
    for (const [raw] of validCases) {
      const { warnings } = canonicalizeResource(raw)
      const indexes = warnings.map((w) => RESOURCE_WARNINGS.indexOf(w))
      expect(indexes.every((i) => i >= 0)).toBe(true)
      expect(indexes).toEqual([...indexes].sort((x, y) => x - y))
    }
    const reasons = new Set([...invalidCases.map(([, reason]) => reason), 'too_long'])
    expect([...reasons].sort()).toEqual([...RESOURCE_INVALID_REASONS].sort())
  })

  it('rejects a 100 000 character input as too long without parsing it', () => {
    const raw = 'https://a.example/' + 'a/'.repeat(50_000)
    const hostile = 'https://' + '['.repeat(100_000)
    const result = canonicalizeResource(raw)
    const hostileResult = canonicalizeResource(hostile)
    expect(result).toMatchObject({ valid: false, invalidReason: 'too_long', canonical: raw })
    expect(result.raw).toHaveLength(raw.length)
    expect(hostileResult.invalidReason).toBe('too_long')
  })

  it('accepts an identifier exactly at the length cap and rejects one character more', () => {
    const prefix = 'https://a.example/'
    const atCap = prefix + 'x'.repeat(MAX_RESOURCE_LENGTH - prefix.length)
    expect(atCap).toHaveLength(MAX_RESOURCE_LENGTH)
    expect(canonicalizeResource(atCap)).toMatchObject({ valid: true, canonical: atCap })
    expect(canonicalizeResource(atCap + 'x').invalidReason).toBe('too_long')
  })

  // No timing assertion (machines here are noisy): the parser is a linear regex plus single passes,
  // and bench-style timings belong in bench/. This checks the worst cases give stable answers.
  it('handles worst-case input just under the cap', () => {
    const inputs = [
      'https://a.example' + '/..'.repeat(600),
      'https://a.example/' + '%41'.repeat(600),
      'x:' + ':'.repeat(2000),
      'https://' + 'ü'.repeat(2000),
    ]
    for (const raw of inputs) {
      const result = canonicalizeResource(raw)
      expect(result.raw).toBe(raw)
      if (result.valid)
        expect(canonicalizeResource(result.canonical).canonical).toBe(result.canonical)
    }
  })

  it('returns a fresh object so callers cannot corrupt the shared memo', () => {
    const first = canonicalizeResource('HTTPS://memo.example/')
    first.warnings.push('userinfo')
    first.canonical = 'tampered'
    const second = canonicalizeResource('HTTPS://memo.example/')
    expect(second.canonical).toBe('https://memo.example')
    expect(second.warnings).toEqual(['uppercase_scheme_or_host', 'empty_path_slash'])
    expect(compareResources('HTTPS://memo.example/', 'https://memo.example')).toBe('equivalent')
  })

  it('keeps answering correctly after the memo fills up and is cleared', () => {
    // 6 000 pairs are 12 000 distinct strings, past the memo's 10 000-entry bound.
    const wrong: number[] = []
    for (let n = 0; n < 6_000; n++) {
      if (compareResources(`https://h${n}.example/`, `https://H${n}.example`) !== 'equivalent') {
        wrong.push(n)
      }
    }
    expect(wrong).toEqual([])
    expect(compareResources('https://h1.example/', 'https://h1.example/x')).toBe('different')
  })

  it('never throws and stays idempotent on generated URI-like strings', () => {
    const alphabet = [
      'https:',
      'http:',
      'urn:',
      '//',
      '/',
      '.',
      '..',
      ':',
      '@',
      '?',
      '#',
      '%',
      '%2e',
      '%7E',
      '%4',
      'A',
      'b',
      'ü',
      '[',
      ']',
      '::1',
      '443',
      '80',
      '-',
      '~',
      'x',
      '\\',
      ' ',
    ]
    let seed = 42
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed
    }
    for (let n = 0; n < 3000; n++) {
      let raw = ''
      const parts = 1 + (next() % 12)
      for (let i = 0; i < parts; i++) raw += alphabet[next() % alphabet.length]
      const result = canonicalizeResource(raw)
      expect(result.raw).toBe(raw)
      if (!result.valid) {
        expect(result.canonical).toBe(raw)
        continue
      }
      const again = canonicalizeResource(result.canonical)
      expect(again.canonical, raw).toBe(result.canonical)
      expect(again.driftKey, raw).toBe(result.driftKey)
    }
  })
})

describe('compareResources', () => {
  const cases: [a: string, b: string, expected: ResourceComparison][] = [
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp', 'identical'],
    ['mcp', 'mcp', 'identical'],
    ['https://mcp.example.com#f', 'https://mcp.example.com#f', 'identical'],
    ['https://mcp.example.com/', 'https://mcp.example.com', 'equivalent'],
    ['https://mcp.example.com:443', 'https://mcp.example.com', 'equivalent'],
    ['HTTPS://MCP.EXAMPLE.COM/mcp', 'https://mcp.example.com/mcp', 'equivalent'],
    ['https://mcp.example.com/%6Dcp', 'https://mcp.example.com/mcp', 'equivalent'],
    ['https://mcp.example.com/a/../mcp', 'https://mcp.example.com/mcp', 'equivalent'],
    ['https://bücher.example/api', 'https://xn--bcher-kva.example/api', 'equivalent'],
    ['https://[::1]:443/x', 'https://[::1]/x', 'equivalent'],
    ['https://mcp.example.com/mcp/', 'https://mcp.example.com/mcp', 'variant'],
    ['https://mcp.example.com/MCP', 'https://mcp.example.com/mcp', 'variant'],
    ['http://mcp.example.com/mcp', 'https://mcp.example.com/mcp', 'variant'],
    ['HTTP://mcp.example.com:80/MCP/', 'https://mcp.example.com/mcp', 'variant'],
    ['https://mcp.example.com./mcp', 'https://mcp.example.com/mcp', 'variant'],
    ['https://mcp.example.com/mcp?', 'https://mcp.example.com/mcp', 'variant'],
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/server/mcp', 'different'],
    ['https://mcp.example.com', 'https://mcp.example.com:8443', 'different'],
    ['http://mcp.example.com:443', 'https://mcp.example.com', 'variant'],
    ['http://mcp.example.com:8443', 'https://mcp.example.com:8443', 'variant'],
    ['https://mcp.example.com:80', 'http://mcp.example.com', 'different'],
    ['https://mcp.example.com/mcp?x=1', 'https://mcp.example.com/mcp', 'different'],
    ['https://mcp.example.com/mcp?x=1', 'https://mcp.example.com/mcp?X=1', 'different'],
    ['https://a.example/a%2Fb', 'https://a.example/a/b', 'different'],
    ['https://u@mcp.example.com', 'https://mcp.example.com', 'different'],
    ['https://mcp.example.com#f', 'https://mcp.example.com', 'different'],
    ['mcp.example.com', 'https://mcp.example.com', 'different'],
    ['mcp', 'MCP', 'different'],
    [' https://mcp.example.com', 'https://mcp.example.com ', 'different'],
    ['urn:example:api', 'urn:example:API', 'variant'],
    ['urn:example:api', 'URN:example:api', 'equivalent'],
  ]

  it.each(cases)('classifies %s against %s as %s', (a, b, expected) => {
    expect(compareResources(a, b)).toBe(expected)
    expect(compareResources(b, a)).toBe(expected)
  })

  it('is symmetric over every pair of a sample list', () => {
    const aliases = createAliasLookup([
      { resource: 'https://api.example.com', aliases: ['my-api', 'api://my-api'] },
    ])
    const sample = [
      ...new Set([...cases.flatMap(([a, b]) => [a, b]), 'my-api', 'api://my-api', 'api://MY-API']),
      'https://api.example.com',
      'https://api.example.com/',
      'http://api.example.com',
    ]
    for (const a of sample) {
      for (const b of sample) {
        expect(compareResources(a, b), `${a} vs ${b}`).toBe(compareResources(b, a))
        expect(compareResources(a, b, aliases), `${a} vs ${b}`).toBe(
          compareResources(b, a, aliases),
        )
      }
    }
  })

  it('agrees with the canonical forms and drift keys of valid identifiers', () => {
    const sample = validCases.map(([raw]) => raw)
    for (const a of sample) {
      for (const b of sample) {
        const ca = canonicalizeResource(a)
        const cb = canonicalizeResource(b)
        const expected: ResourceComparison =
          a === b
            ? 'identical'
            : ca.canonical === cb.canonical
              ? 'equivalent'
              : ca.driftKey === cb.driftKey
                ? 'variant'
                : 'different'
        expect(compareResources(a, b), `${a} vs ${b}`).toBe(expected)
      }
    }
  })
})

describe('createAliasLookup', () => {
  const aliases = createAliasLookup([
    { resource: 'https://api.example.com/', aliases: ['api://my-api', 'my-api'] },
    { resource: 'https://mcp.example.com/mcp' },
    { resource: 'legacy-audience', aliases: ['urn:example:legacy'] },
  ])

  it.each<[a: string, b: string, expected: ResourceComparison]>([
    ['api://my-api', 'https://api.example.com', 'equivalent'],
    ['my-api', 'https://api.example.com', 'equivalent'],
    ['my-api', 'api://my-api', 'equivalent'],
    ['API://my-api', 'https://api.example.com:443/', 'equivalent'],
    ['my-api', 'https://API.example.com', 'equivalent'],
    ['legacy-audience', 'urn:example:legacy', 'equivalent'],
    ['my-api', 'My-Api', 'different'],
    ['my-api', 'https://mcp.example.com/mcp', 'different'],
    ['api://my-api', 'https://mcp.example.com/mcp', 'different'],
    ['api://my-api/', 'https://api.example.com', 'equivalent'],
    ['api://my-api/v2', 'https://api.example.com', 'different'],
    ['http://api.example.com', 'https://api.example.com', 'variant'],
    ['http://api.example.com', 'my-api', 'different'],
    ['other-api', 'my-api', 'different'],
    ['other-api', 'unknown-api', 'different'],
  ])('classifies %s against %s as %s with the registry', (a, b, expected) => {
    expect(compareResources(a, b, aliases)).toBe(expected)
    expect(compareResources(b, a, aliases)).toBe(expected)
  })

  it('resolves spellings to the canonical form of the registered resource', () => {
    expect(aliases.resolve('https://api.example.com/')).toBe('https://api.example.com')
    expect(aliases.resolve('HTTPS://api.example.com')).toBe('https://api.example.com')
    expect(aliases.resolve('my-api')).toBe('https://api.example.com')
    expect(aliases.resolve('api://MY-API')).toBe('https://api.example.com')
    expect(aliases.resolve('legacy-audience')).toBe('legacy-audience')
    expect(aliases.resolve('https://api.example.com/v1')).toBeUndefined()
    expect(aliases.resolve('http://api.example.com')).toBeUndefined()
    expect(aliases.resolve('')).toBeUndefined()
  })

  it('fails closed on a spelling claimed by two resources', () => {
    const ambiguous = createAliasLookup([
      { resource: 'https://a.example', aliases: ['shared', 'a-only'] },
      { resource: 'https://b.example', aliases: ['shared', 'api://SHARED'] },
      { resource: 'https://c.example', aliases: ['api://shared'] },
      { resource: 'https://a.example/', aliases: ['a-too'] },
    ])
    expect(ambiguous.resolve('shared')).toBeUndefined()
    expect(ambiguous.resolve('api://shared')).toBeUndefined()
    expect(ambiguous.resolve('a-only')).toBe('https://a.example')
    expect(ambiguous.resolve('a-too')).toBe('https://a.example')
    expect(compareResources('shared', 'https://a.example', ambiguous)).toBe('different')
    expect(compareResources('a-only', 'a-too', ambiguous)).toBe('equivalent')
  })

  it('compares invalid identifiers by exact string or alias only', () => {
    expect(compareResources('mcp', 'mcp')).toBe('identical')
    expect(compareResources('mcp', 'mcp/', aliases)).toBe('different')
    expect(compareResources('https://x.example#a', 'https://x.example#b')).toBe('different')
    expect(compareResources('https://api.example.com#x', 'https://api.example.com', aliases)).toBe(
      'different',
    )
    expect(compareResources('legacy-audience', 'legacy-audience', aliases)).toBe('identical')
  })
})
