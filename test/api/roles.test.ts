import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('roles_it')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  keys = await apiKeys()
  const metrics = new Metrics()
  app = await testApp(keys, {
    metrics,
    ingest: {
      target: sinkTarget(createMemorySink()),
      retentionDays: 400,
      pipeline: pipelineMetrics(metrics),
    },
    storage,
  })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

const ID = '0123456789abcdef0123456789abcdef'
const EXC = '01234567-89ab-4cde-8f01-23456789abcd'
/** Every endpoint with the role it needs and a request that passes validation. */
const ENDPOINTS: [string, string, string, object?][] = [
  ['POST', '/v1/ingest', 'ingest', []],
  ['GET', '/v1/events', 'viewer'],
  ['GET', '/v1/tokens/some-key', 'viewer'],
  ['GET', '/v1/findings', 'viewer'],
  ['GET', `/v1/findings/${ID}`, 'viewer'],
  ['PATCH', `/v1/findings/${ID}`, 'analyst', { status: 'acknowledged' }],
  ['GET', '/v1/resources', 'viewer'],
  ['GET', '/v1/clients', 'viewer'],
  ['GET', '/v1/rules', 'viewer'],
  ['GET', '/v1/rules/cross-audience-replay', 'viewer'],
  ['GET', '/v1/exceptions', 'admin'],
  [
    'POST',
    '/v1/exceptions',
    'admin',
    {
      rule_id: '*',
      match: { client_id: 'x' },
      owner: 'o',
      reason: 'r',
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    },
  ],
  ['DELETE', `/v1/exceptions/${EXC}`, 'admin'],
]
/** Who may call what: admin implies viewer and analyst, never ingest. */
const ALLOWED: Record<string, string[]> = {
  viewer: ['viewer'],
  analyst: ['viewer', 'analyst'],
  admin: ['viewer', 'analyst', 'admin'],
  ingest: ['ingest'],
}

describe('the role matrix', () => {
  it.each(ENDPOINTS)('%s %s needs %s', async (method, url, needed, body) => {
    const problems: string[] = []
    for (const role of ['viewer', 'analyst', 'admin', 'ingest']) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${await keys.token({ roles: [role], tenant: 'acme' })}` },
        ...(body ? { payload: body } : {}),
      })
      const allowed = ALLOWED[role]!.includes(needed)
      if (allowed ? res.statusCode === 403 || res.statusCode === 401 : res.statusCode !== 403)
        problems.push(`${role}: ${res.statusCode}`)
    }
    const anonymous = await app.inject({ method: method as 'GET', url })
    if (anonymous.statusCode !== 401) problems.push(`anonymous: ${anonymous.statusCode}`)
    expect(problems).toEqual([])
  })
})
