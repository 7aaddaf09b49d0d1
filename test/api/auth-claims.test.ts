/**
 * Tokens signed by the API's own key, for its issuer and audience, that lack a claim the API
 * relies on: refused with 401 (minted here with jose, since the helper always sets them).
 */
import type { FastifyInstance } from 'fastify'
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { testApp } from '../helpers/api-app.js'
import { API_AUDIENCE, API_ISSUER, type apiKeys } from '../helpers/api-tokens.js'

let app: FastifyInstance
let privateKey: CryptoKey

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  privateKey = pair.privateKey
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  const keys = {
    keys: createLocalJWKSet({ keys: [jwk] }),
    jwk,
  } as unknown as Awaited<ReturnType<typeof apiKeys>>
  const metrics = new Metrics()
  app = await testApp(keys, {
    metrics,
    ingest: {
      target: sinkTarget(createMemorySink()),
      retentionDays: 400,
      pipeline: pipelineMetrics(metrics),
    },
  })
})
afterAll(async () => {
  await app.close()
})

/** A token as the helper mints it, minus what `omit` names. */
function mint(omit: { tenant?: boolean; exp?: boolean } = {}): Promise<string> {
  const claims: Record<string, unknown> = { audtrail_roles: ['ingest'] }
  if (!omit.tenant) claims.audtrail_tenant = 'acme'
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('svc-1')
    .setIssuer(API_ISSUER)
    .setAudience(API_AUDIENCE)
    .setIssuedAt()
  if (!omit.exp) jwt.setExpirationTime('5m')
  return jwt.sign(privateKey)
}

const ingest = async (token: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/ingest',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: [],
  })

describe('API tokens missing a claim', () => {
  it('lets the complete token through authentication (the control case)', async () => {
    // Authenticated, then refused for the empty body: a 400, not a 401.
    const res = await ingest(await mint())
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'ERR_BAD_REQUEST' })
  })

  it('refuses a validly signed token without audtrail_tenant with 401', async () => {
    const res = await ingest(await mint({ tenant: true }))
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({
      code: 'ERR_AUTH_INVALID',
      message: 'the token has no valid audtrail_tenant claim',
    })
    expect(res.headers['www-authenticate']).toMatch(/invalid_token/)
  })

  it('refuses a validly signed token without exp with 401', async () => {
    const res = await ingest(await mint({ exp: true }))
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ code: 'ERR_AUTH_INVALID' })
    expect(res.headers['www-authenticate']).toMatch(/invalid_token/)
  })
})
