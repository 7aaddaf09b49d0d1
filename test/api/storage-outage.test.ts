/**
 * A storage outage answers the same on every route that reads or writes storage: `503
 * ERR_UNAVAILABLE` in the error model, nothing of the storage error in the message. The
 * repositories map every failure (docs/design/storage.md), so no route has a mapping of its own
 * to forget. Both implementations: a ClickHouse server nobody listens on, and the in-memory
 * repositories switched off.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRoutes } from '../../src/api/route.js'
import { createStorage, type Storage } from '../../src/storage/client.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { expectErrorModel } from './documented-errors.js'

const FINDING = '0123456789abcdef0123456789abcdef'
const EXCEPTION = '01234567-89ab-4def-8123-456789abcdef'
const future = () => new Date(Date.now() + 86_400_000).toISOString()

/** A valid request to each route that uses storage, by its declaration (METHOD url). */
const REQUESTS: Record<string, () => InjectOptions> = {
  'GET /v1/events': () => ({ url: '/v1/events?resource=https://mcp.example.com/mcp' }),
  'GET /v1/tokens/:key': () => ({ url: '/v1/tokens/at-1' }),
  'GET /v1/findings': () => ({ url: '/v1/findings?status=open' }),
  'GET /v1/findings/:id': () => ({ url: `/v1/findings/${FINDING}` }),
  'PATCH /v1/findings/:id': () => ({
    method: 'PATCH',
    url: `/v1/findings/${FINDING}`,
    payload: { status: 'acknowledged' },
  }),
  'POST /v1/findings/triage': () => ({
    method: 'POST',
    url: '/v1/findings/triage',
    payload: { filter: { rule: 'aud-mismatch-accepted' }, set: { status: 'acknowledged' } },
  }),
  'GET /v1/findings/export': () => ({ url: '/v1/findings/export?format=csv' }),
  'GET /v1/resources': () => ({ url: '/v1/resources' }),
  'GET /v1/clients': () => ({ url: '/v1/clients' }),
  'GET /v1/exceptions': () => ({ url: '/v1/exceptions' }),
  'POST /v1/exceptions': () => ({
    method: 'POST',
    url: '/v1/exceptions',
    payload: {
      rule_id: '*',
      match: { client_id: 'agent-7' },
      owner: 'secops',
      reason: 'a known batch job',
      expires_at: future(),
    },
  }),
  'DELETE /v1/exceptions/:id': () => ({ method: 'DELETE', url: `/v1/exceptions/${EXCEPTION}` }),
  'GET /v1/reports/compliance': () => ({ url: '/v1/reports/compliance?framework=all' }),
  'GET /v1/integrity': () => ({ url: '/v1/integrity' }),
  'GET /v1/sender-constraint': () => ({ url: '/v1/sender-constraint' }),
}

/** Query routes that never touch storage. */
const WITHOUT_STORAGE = new Set(['GET /v1/rules', 'GET /v1/rules/:id'])

let keys: Awaited<ReturnType<typeof apiKeys>>
beforeAll(async () => {
  keys = await apiKeys()
})

it('covers every route that serves queries', async () => {
  const queries = (await loadRoutes())
    .filter((r) => r.serves === 'queries')
    .map((r) => `${r.method} ${r.url}`)
    .filter((r) => !WITHOUT_STORAGE.has(r))
  expect(Object.keys(REQUESTS).sort()).toEqual(queries.sort())
})

/** The in-memory repositories as a Storage, switched off. */
function memoryDown(): Storage {
  const memory = createMemoryRepositories()
  memory.available = false
  return { ...memory, mode: 'embedded', database: 'memory', close: async () => {} }
}

/** A ClickHouse server storage where nothing listens (port 9, discard: refused). */
function serverDown(): Storage {
  const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-outage-'))
  return createStorage({ url: 'http://127.0.0.1:9', database: 'outage', dataDir })
}

describe.each([
  ['a ClickHouse server unreachable', serverDown],
  ['the in-memory repositories switched off', memoryDown],
])('%s', (_, down) => {
  let storage: Storage
  let app: FastifyInstance
  beforeAll(async () => {
    storage = down()
    app = await testApp(keys, { storage })
  })
  afterAll(async () => {
    await app.close()
    await storage.close()
  })

  it.each(Object.entries(REQUESTS))('%s: 503 ERR_UNAVAILABLE', async (_, request) => {
    const token = await keys.token({ roles: ['admin', 'analyst', 'viewer'], tenant: 'acme' })
    const res = await app.inject({
      ...request(),
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.statusCode, res.body).toBe(503)
    const body = expectErrorModel(res, 'ERR_UNAVAILABLE')
    expect(body.message).not.toMatch(/ClickHouse|ECONNREFUSED|memory|127\.0\.0\.1/)
  })
})
