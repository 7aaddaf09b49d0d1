import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fingerprintToken } from '../../src/events/index.js'

const TOKEN =
  'eyJhbGciOiJFUzI1NiJ9.' + Buffer.from('{"sub":"secret-subject"}').toString('base64url') + '.c2ln'

describe('fingerprintToken', () => {
  it('is base64url SHA-256 without a key', () => {
    const expected = createHash('sha256').update(TOKEN).digest('base64url')
    expect(fingerprintToken(TOKEN)).toBe(expected)
    expect(fingerprintToken(TOKEN)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('is HMAC-SHA-256 with a key, and differs from the unkeyed form', () => {
    const key = 'a-shared-secret-of-enough-length'
    expect(fingerprintToken(TOKEN, key)).toBe(
      createHmac('sha256', key).update(TOKEN).digest('base64url'),
    )
    expect(fingerprintToken(TOKEN, key)).not.toBe(fingerprintToken(TOKEN))
    expect(fingerprintToken(TOKEN, Buffer.from(key))).toBe(fingerprintToken(TOKEN, key))
  })

  it('never contains the raw token or any of its parts', () => {
    for (const key of [undefined, 'k'.repeat(32)]) {
      const fp = fingerprintToken(TOKEN, key)
      for (const part of [TOKEN, ...TOKEN.split('.')]) expect(fp).not.toContain(part)
      // No 8-character window of the token survives either.
      for (let i = 0; i + 8 <= TOKEN.length; i++) expect(fp).not.toContain(TOKEN.slice(i, i + 8))
    }
  })

  it('distinguishes tokens that differ in one character', () => {
    expect(fingerprintToken(TOKEN)).not.toBe(fingerprintToken(TOKEN.slice(0, -1) + 'm'))
  })

  it('throws TypeError on programmer misuse', () => {
    expect(() => fingerprintToken('')).toThrow(TypeError)
    expect(() => fingerprintToken(TOKEN, '')).toThrow(TypeError)
    expect(() => fingerprintToken(undefined as unknown as string)).toThrow(TypeError)
  })
})
