/** Liveness, readiness and Prometheus metrics: no authentication, no tenant data. */
import type { FastifyPluginAsync } from 'fastify'
import type { Metrics } from '../../metrics.js'
import { responseJsonSchema } from '../schemas/json-schema.js'
import { HealthSchema, ReadinessSchema } from '../schemas/service.js'

export const healthRoutes: FastifyPluginAsync<{
  metrics: Metrics
  readiness: () => Promise<Record<string, boolean>>
}> = async (app, { metrics, readiness }) => {
  const ready = responseJsonSchema(ReadinessSchema, 'serializer')

  app.get(
    '/healthz',
    { schema: { response: { 200: responseJsonSchema(HealthSchema, 'serializer') } } },
    async () => ({ status: 'ok' }),
  )

  app.get('/readyz', { schema: { response: { 200: ready, 503: ready } } }, async (_, reply) => {
    const checks = await readiness().catch(() => ({ readiness: false }))
    const ok = Object.values(checks).every(Boolean)
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks })
  })

  app.get('/metrics', async (_, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  )
}
