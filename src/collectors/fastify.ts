/** `audtrail/collectors/fastify`: the resource-server collector as a Fastify plugin (default export). */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createCore, type AudtrailRequestInfo, type Gate } from './rs/core.js'
import type { CollectorOptions } from './rs/options.js'

export type * from './rs/public-types.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** set by the audtrail collector for requests that carried a token */
    audtrail: AudtrailRequestInfo | null
  }
}

export type FastifyCollectorOptions = CollectorOptions<FastifyRequest>

function apply(gate: Gate, request: FastifyRequest, reply: FastifyReply): boolean {
  if (gate.kind === 'reply') {
    reply.code(gate.status).headers(gate.headers).send(gate.body)
    return false
  }
  if (gate.info !== undefined) request.audtrail = gate.info
  return true
}

/**
 * Verifies (enforce) or decodes (observe) in `onRequest`, before the body is parsed, so a request
 * without a valid token costs no body parsing; the event is recorded when the response head is
 * written (never from `onResponse`, where a throw would reach nothing that catches it). The
 * plugin is wrapped with fastify-plugin, so its hook covers the routes of the context it is
 * registered in and its children: at the root, every route; inside `fastify.register(async
 * (scope) => ...)`, that scope's routes only (the recommended way to protect part of a server).
 * Routing precedes `onRequest`, so `protect` prefixes judge the matched route pattern as well as
 * the canonical request target (rs/protect.ts).
 */
const plugin: FastifyPluginCallback<FastifyCollectorOptions> = (fastify, options, done) => {
  let core: ReturnType<typeof createCore<FastifyRequest>>
  try {
    core = createCore<FastifyRequest>(options, { kind: 'resource_server', logger: fastify.log })
    // Several collectors (one per resource) may share a server and this decorator.
    if (!fastify.hasRequestDecorator('audtrail')) fastify.decorateRequest('audtrail', null)
    registerMetadata(fastify, core.metadata)
  } catch (err) {
    return done(err as Error)
  }

  fastify.addHook('onRequest', (request, reply, next) => {
    const gate = core.handle({
      req: request,
      raw: request.raw,
      res: reply.raw,
      url: request.raw.url,
      // The router has already matched (routing precedes onRequest): its route is judged too.
      route: request.routeOptions.url,
      ip: request.ip,
      body: () => request.body,
    })
    if (!(gate instanceof Promise)) {
      if (safeApply(gate, request, reply)) next()
      return
    }
    gate.then(
      (g) => {
        // Answered by the host while the token was being verified: nothing more may run for it.
        if (safeApply(g, request, reply) && !reply.sent && !reply.raw.headersSent) next()
      },
      (err: unknown) => next(err as Error),
    )
  })
  done()
}

function safeApply(gate: Gate, request: FastifyRequest, reply: FastifyReply): boolean {
  try {
    return apply(gate, request, reply)
  } catch {
    if (gate.kind === 'pass') return true
    reply.raw.destroy()
    return false
  }
}

function registerMetadata(
  fastify: FastifyInstance,
  metadata: ReturnType<typeof createCore>['metadata'],
) {
  if (metadata === undefined) return
  for (const url of metadata.paths) {
    // Two collectors on one origin may both want the root document: the first one keeps it.
    if (fastify.hasRoute({ method: 'GET', url })) continue
    fastify.get(url, (_request, reply) => {
      reply.code(200).headers(metadata.headers).send(metadata.body)
    })
  }
}

export default fp(plugin, { fastify: '5.x', name: 'audtrail-collector' })
