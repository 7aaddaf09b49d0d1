/** GET /v1/integrity: admin only, bound to the caller's tenant, the verifier's report. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { trustedKeys } from '../../src/integrity/checkpoint.js'
import { presentedRow } from '../helpers/events.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages } from '../helpers/storage.js'
import { chained, chainRows, tamper, type Chained } from './helpers.js'

let c: Chained
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  c = await chained('integrity_api', 'wapi')
  for (const tenant of ['acme', 'other'])
    await c.sink.write({
      rows: Array.from({ length: 5 }, () => presentedRow({ tenant })),
      rejected: [],
    })
  await c.checkpointer.checkpoint()
  keys = await apiKeys()
  app = await testApp(keys, { storage: c.storage, integrityKeys: await trustedKeys([c.key]) })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

const get = async (url: string, claims: { roles: string[]; tenant: string }) =>
  app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${await keys.token(claims)}` },
  })

describe('GET /v1/integrity', () => {
  it("answers an admin with the tenant's report, and only its chains, whatever tenant it asks for", async () => {
    // other's chain is tampered with: acme's report does not see it.
    const rows = await chainRows(c.storage, 'other')
    await tamper(c.storage, `ALTER TABLE {{db}}.events DELETE WHERE event_id = {id:UUID}`, {
      id: rows[2]!.event_id,
    })
    const acme = await get('/v1/integrity?tenant=other', { roles: ['admin'], tenant: 'acme' })
    expect(acme.statusCode).toBe(200)
    const body = acme.json()
    expect(body).toMatchObject({ tenant: 'acme', ok: true, issues: [], issues_total: 0 })
    expect(body.chains).toEqual([
      { chain: 'http/wapi', rows: 5, last_position: 5, attested: 5, unattested: 0 },
    ])
    const other = await get('/v1/integrity', { roles: ['admin'], tenant: 'other' })
    expect(other.json()).toMatchObject({
      tenant: 'other',
      ok: false,
      issues: [{ kind: 'deleted', chain: 'http/wapi', position: 3, to: 3 }],
    })
  })

  it('refuses a viewer and an analyst', async () => {
    for (const role of ['viewer', 'analyst'])
      expect((await get('/v1/integrity', { roles: [role], tenant: 'acme' })).statusCode).toBe(403)
  })

  it('refuses an unknown query parameter', async () => {
    expect((await get('/v1/integrity?x=1', { roles: ['admin'], tenant: 'acme' })).statusCode).toBe(
      400,
    )
  })
})
