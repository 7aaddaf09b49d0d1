/** Liveness, readiness and Prometheus metrics: no authentication, no tenant data. */
import type { FastifyPluginAsync } from 'fastify'
import type { Metrics } from '../../metrics.js'

export const healthRoutes: FastifyPluginAsync<{
  metrics: Metrics
  readiness: () => Promise<Record<string, boolean>>
}> = async (app, { metrics, readiness }) => {
  app.get(
    '/healthz',
    {
      schema: {
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        response: {
          '2xx': {
            type: 'object',
            properties: {
              status: { type: 'string' },
              checks: { type: 'object', additionalProperties: { type: 'boolean' } },
            },
          },
          503: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              checks: { type: 'object', additionalProperties: { type: 'boolean' } },
            },
          },
        },
      },
    },
    async (_, reply) => {
      const checks = await readiness().catch(() => ({ readiness: false }))
      const ready = Object.values(checks).every(Boolean)
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
    },
  )

  app.get('/metrics', async (_, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  )
}
