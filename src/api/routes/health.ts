/** Liveness, readiness and Prometheus metrics: no authentication, no tenant data. */
import { defineRoute } from '../route.js'
import { HealthSchema, ReadinessSchema } from '../schemas/service.js'

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/healthz',
    operationId: 'liveness',
    summary: 'Liveness',
    role: 'public',
    responses: { 200: { description: 'alive', schema: HealthSchema } },
    handler: async () => ({ status: 'ok' }),
  }),

  defineRoute({
    method: 'GET',
    url: '/readyz',
    operationId: 'readiness',
    summary: 'Readiness: storage and transport reachable',
    role: 'public',
    responses: {
      200: { description: 'ready', schema: ReadinessSchema },
      503: { description: 'not ready', schema: ReadinessSchema },
    },
    handler: async ({ reply, deps: { readiness } }) => {
      const checks = await readiness().catch(() => ({ readiness: false }))
      const ok = Object.values(checks).every(Boolean)
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks })
    },
  }),

  defineRoute({
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    role: 'public',
    responses: {
      200: { description: 'text exposition format', content: { 'text/plain': { type: 'string' } } },
    },
    handler: async ({ reply, deps: { metrics } }) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()),
  }),
]
