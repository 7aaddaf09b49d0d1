/**
 * mTLS-bound tokens (RFC 8705 3) through a Fastify server that terminates TLS itself: the
 * collector takes the client certificate's thumbprint from the TLS socket and compares it with
 * the token's `cnf.x5t#S256`. Certificates are made with the openssl command line.
 */
import { execFileSync } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import audtrail from '../../src/collectors/fastify.js'
import type { AuditEvent, TokenPresentedEvent } from '../../src/events/schema.js'

const API = 'https://api.example.com'
const ISSUER = 'https://as.example.com'
const dir = mkdtempSync(join(tmpdir(), 'audtrail-mtls-'))
const events: AuditEvent[] = []
const emitter = createEmitter({ transport: { type: 'memory', events }, closeOnExit: false })
let app: FastifyInstance
let port: number
let sign: (cnf?: Record<string, string>) => Promise<string>
const pem = (name: string) => readFileSync(join(dir, name))

/** A self-signed certificate and key named `name` (the server's, or a client's). */
function certificate(name: string): string {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.crt`),
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    ],
    { stdio: 'ignore' },
  )
  // x5t#S256: base64url(SHA-256(DER of the certificate)), RFC 8705 3.1.
  const der = new X509Certificate(pem(`${name}.crt`)).raw
  return createHash('sha256').update(der).digest('base64url')
}

let clientX5t: string
let otherX5t: string

beforeAll(async () => {
  certificate('server')
  clientX5t = certificate('client')
  otherX5t = certificate('other')
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }
  sign = (cnf) =>
    new SignJWT({ client_id: 'agent', scope: 'orders:read', ...(cnf && { cnf }) })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(API)
      .setSubject('agent')
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(crypto.randomUUID())
      .sign(privateKey)
  app = Fastify({
    https: {
      key: pem('server.key'),
      cert: pem('server.crt'),
      requestCert: true,
      rejectUnauthorized: false,
    },
  })
  await app.register(audtrail, {
    resource: API,
    issuer: ISSUER,
    jwks: { keys: [jwk] },
    mode: 'enforce',
    emitter,
  })
  app.get('/orders', async (req) => ({ proof: req.audtrail?.proof ?? null }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as AddressInfo).port
})

afterAll(async () => {
  await app?.close()
  await emitter.close()
  rmSync(dir, { recursive: true, force: true })
})

function get(
  token: string,
  client?: string,
): Promise<{ status: number; body: string; challenge?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/orders',
        headers: { authorization: `Bearer ${token}` },
        rejectUnauthorized: false,
        ...(client && { key: pem(`${client}.key`), cert: pem(`${client}.crt`) }),
      },
      (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () =>
          resolve({ status: res.statusCode!, body, challenge: res.headers['www-authenticate'] }),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })
}

async function last(): Promise<TokenPresentedEvent> {
  await emitter.flush()
  return events[events.length - 1] as TokenPresentedEvent
}

describe('a certificate-bound token over TLS', () => {
  it('is accepted with its certificate, the thumbprint recorded', async () => {
    const res = await get(await sign({ 'x5t#S256': clientX5t }), 'client')
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ proof: { scheme: 'Bearer', verdict: 'valid' } })
    expect(await last()).toMatchObject({
      decision: 'accepted',
      token: { cnf: { 'x5t#S256': clientX5t } },
      proof: { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: clientX5t },
    })
  })

  it('is refused with another certificate, or none (invalid_token)', async () => {
    const token = await sign({ 'x5t#S256': clientX5t })
    for (const [client, failure, cert] of [
      ['other', 'cert_mismatch', otherX5t],
      [undefined, 'cert_missing', undefined],
    ] as const) {
      const res = await get(token, client)
      expect(res.status).toBe(401)
      expect(res.challenge).toMatch(
        /^Bearer error="invalid_token", error_description="The access token is bound to a key this request did not prove possession of"/,
      )
      const event = await last()
      expect(event).toMatchObject({ decision: 'rejected', proof: { verdict: 'invalid', failure } })
      expect(event.proof?.cert_thumbprint).toBe(cert)
    }
  })

  it('leaves an unbound token a bearer presentation, the certificate still recorded', async () => {
    const res = await get(await sign(), 'client')
    expect(res.status).toBe(200)
    expect((await last()).proof).toEqual({
      scheme: 'Bearer',
      verdict: 'absent',
      cert_thumbprint: clientX5t,
    })
  })
})
