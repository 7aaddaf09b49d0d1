/** A Fastify API behind the enforce-mode collector, for the Fastify tests; closes what it built. */
import Fastify, { type FastifyInstance } from 'fastify'
import audtrail, { type FastifyCollectorOptions } from '../../../src/collectors/fastify.js'
import { capturedLogger, ISSUER, RESOURCE, TestEmitter, type SigningKey } from './fixtures.js'

export const bearer = (token: string) => ({
  authorization: `Bearer ${token}`,
  'user-agent': 'agent/1.0',
})

export function fastifyApis() {
  let apps: FastifyInstance[] = []
  return {
    /** Routes: `/items` (answers the client id the collector saw), `/health`, and `routes`. */
    async api(
      key: SigningKey,
      options: Partial<FastifyCollectorOptions> = {},
      routes?: (app: FastifyInstance) => void,
      emitter = new TestEmitter(),
    ) {
      const { logger, lines } = capturedLogger()
      const app = Fastify({ loggerInstance: logger }) as unknown as FastifyInstance
      apps.push(app)
      await app.register(audtrail, {
        resource: RESOURCE,
        issuer: ISSUER,
        jwks: { keys: [key.publicJwk] },
        mode: 'enforce',
        emitter,
        protectedResourceMetadata: true,
        ...options,
      })
      app.get('/items', async (request) => ({ client: request.audtrail?.clientId ?? null }))
      app.get('/health', async () => ({ ok: true }))
      routes?.(app)
      await app.ready()
      return { app, emitter, lines }
    },
    /** A bare Fastify instance, closed with the others. */
    bare(): FastifyInstance {
      const app = Fastify() as unknown as FastifyInstance
      apps.push(app)
      return app
    },
    async closeAll() {
      await Promise.all(apps.map((a) => a.close()))
      apps = []
    },
  }
}
