/** Proof-of-possession judgements of the resource-server core (src/collectors/rs/dpop.ts). */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  clientCertThumbprint,
  confirmationOf,
  judgeBinding,
  normalizeHtu,
} from '../../src/collectors/rs/dpop.js'

const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I'
const DER = Buffer.from('a certificate, DER encoded')
const X5T = createHash('sha256').update(DER).digest('base64url')

describe('mTLS-bound tokens (RFC 8705 3)', () => {
  const tlsSocket = (raw: Buffer | undefined) => ({
    encrypted: true,
    getPeerCertificate: () => (raw === undefined ? {} : { raw }),
  })

  it("take the client certificate's x5t#S256 from a TLS socket, nothing from plain sockets", () => {
    expect(clientCertThumbprint(tlsSocket(DER))).toBe(X5T)
    expect(clientCertThumbprint(tlsSocket(undefined))).toBeUndefined()
    expect(clientCertThumbprint({ encrypted: false })).toBeUndefined()
    expect(clientCertThumbprint(undefined)).toBeUndefined()
    const throwing = {
      encrypted: true,
      getPeerCertificate: () => {
        throw new Error('x')
      },
    }
    expect(clientCertThumbprint(throwing)).toBeUndefined()
  })

  it('are valid with their certificate, invalid without it or with another one', () => {
    const cnf = { 'x5t#S256': X5T }
    expect(judgeBinding('Bearer', cnf, undefined, X5T)).toEqual({
      proof: { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: X5T },
      proofError: false,
    })
    expect(judgeBinding('Bearer', cnf, undefined, undefined)).toMatchObject({
      failure: 'cert_missing',
      proof: { verdict: 'invalid' },
    })
    expect(judgeBinding('Bearer', cnf, undefined, JKT)).toMatchObject({ failure: 'cert_mismatch' })
  })

  it('leave a bearer token with a certificate a bearer presentation, the certificate recorded', () => {
    expect(judgeBinding('Bearer', undefined, undefined, X5T)).toEqual({
      proof: { scheme: 'Bearer', verdict: 'absent', cert_thumbprint: X5T },
      proofError: false,
    })
  })
})

describe('confirmation claims', () => {
  it('keep only SHA-256 thumbprints', () => {
    expect(confirmationOf({ cnf: { jkt: JKT, 'x5t#S256': X5T, kid: 'k' } })).toEqual({
      jkt: JKT,
      'x5t#S256': X5T,
    })
    for (const cnf of [undefined, null, 'x', [JKT], { jkt: 'short' }, { jkt: 42 }])
      expect(confirmationOf({ cnf })).toBeUndefined()
  })
})

describe('htu normalization (RFC 9449 4.3, RFC 3986 6.2.2 and 6.2.3)', () => {
  it.each([
    ['HTTPS://Api.Example.com:443/orders', 'https://api.example.com/orders'],
    ['https://api.example.com/%7Eme/%2f', 'https://api.example.com/~me/%2F'],
    ['https://api.example.com/a/../orders?x=1#f', 'https://api.example.com/orders'],
    ['http://api.example.com:80', 'http://api.example.com/'],
    ['https://api.example.com:8443/x', 'https://api.example.com:8443/x'],
  ])('%s is %s', (input, expected) => expect(normalizeHtu(input)).toBe(expected))

  it.each(['ftp://api.example.com/x', '/orders', 'https://user:pw@api.example.com/', 'not a url'])(
    'refuses %s',
    (input) => expect(normalizeHtu(input)).toBeUndefined(),
  )
})
