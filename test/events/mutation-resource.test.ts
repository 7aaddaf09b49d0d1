/**
 * Resource identifiers at the edges the StrykerJS run on src/events/resource* found untested
 * (issue 31): the scheme's whole spelling, IPvFuture hosts, and port numbers (leading zeros, the
 * largest port, one past it).
 */
import { describe, expect, it } from 'vitest'
import { canonicalizeResource } from '../../src/events/resource.js'

const valid = (raw: string) => canonicalizeResource(raw).valid
const canonical = (raw: string) => canonicalizeResource(raw).canonical

describe('canonicalizeResource at the edges', () => {
  it('takes a scheme only when all of it is a scheme: a letter, then letters, digits, + . -', () => {
    expect(valid('h@ttp://example.com/')).toBe(false)
    expect(valid('1https://example.com/')).toBe(false)
    expect(valid('a+b.c-d://example.com/')).toBe(true)
  })

  it('takes an IPvFuture host only in its whole form: v, hex digits, a dot, then characters', () => {
    expect(canonical('https://[v1.x]/')).toBe('https://[v1.x]')
    expect(canonical('https://[v12.x]/')).toBe('https://[v12.x]')
    expect(valid('https://[zv1.x]/')).toBe(false)
    expect(valid('https://[v1.x%25]/')).toBe(false)
    expect(valid('https://[v1.]/')).toBe(false)
  })

  it('drops every leading zero of a port, keeps 65535 and refuses 65536', () => {
    expect(canonical('https://example.com:00080/')).toBe('https://example.com:80')
    expect(canonical('https://example.com:065535/')).toBe('https://example.com:65535')
    expect(canonical('https://example.com:65535/')).toBe('https://example.com:65535')
    expect(valid('https://example.com:65536/')).toBe(false)
    expect(valid('https://example.com:100000/')).toBe(false)
  })
})
