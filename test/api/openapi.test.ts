import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/api/app.js'
import { createAuthenticator } from '../../src/api/auth.js'
import { openApiDocument, renderOpenApiFile } from '../../src/api/openapi.js'
import { loadRoutes } from '../../src/api/route.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { closeTestStorages, testStorage } from '../helpers/storage.js'

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }
let app: FastifyInstance

beforeAll(async () => {
  const metrics = new Metrics()
  app = await buildApp({
    logger: createLogger('silent'),
    authenticate: createAuthenticator({}),
    metrics,
    readiness: async () => ({}),
    ingest: {
      target: sinkTarget(createMemorySink()),
      retentionDays: 400,
      pipeline: pipelineMetrics(metrics),
    },
    storage: testStorage('openapi_it'),
  })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

describe('the OpenAPI document', () => {
  it('matches the committed schemas/openapi.json (run `npm run schemas` when this fails)', async () => {
    const committed = readFileSync(new URL('../../schemas/openapi.json', import.meta.url), 'utf8')
    expect(committed).toBe(await renderOpenApiFile(version))
  })

  it('describes exactly the routes the app registers', async () => {
    const registered = (app as unknown as { audtrailRoutes: string[] }).audtrailRoutes
      .filter((r) => r !== 'GET /docs')
      .map((r) => r.replace(/:([a-z]+)/g, '{$1}'))
      .sort()
    const paths = openApiDocument(version, await loadRoutes()).paths as Record<
      string,
      Record<string, unknown>
    >
    const documented = Object.entries(paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort()
    expect(documented).toEqual(registered)
  })

  it('is served at /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' })
    expect(res.json()).toMatchObject({ openapi: '3.1.0', info: { title: 'audtrail API', version } })
  })
})
