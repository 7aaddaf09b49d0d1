/**
 * POST /v1/ingest: a JSON array (or one object) or NDJSON of events. Answers per event; invalid
 * events are rejected with their reasons and kept in the DLQ, valid ones are kept.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { AliasLookup } from '../../events/resource.js'
import type { PipelineMetrics } from '../../metrics.js'
import { ingest, type IngestItem, type IngestTarget } from '../../pipeline/ingest.js'
import { requireRole, type Authenticate } from '../auth.js'
import { ApiError } from '../errors.js'
import { IngestResponseSchema } from '../schemas/service.js'
import { responses } from './common.js'

export const MAX_EVENTS_PER_REQUEST = 10_000

export interface IngestDeps {
  target: IngestTarget
  retentionDays: number
  pipeline: PipelineMetrics
  aliases?: AliasLookup
}

function toItems(body: string, contentType: string): IngestItem[] {
  if (contentType.startsWith('application/x-ndjson')) {
    return body
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line.trim() !== '')
      .map((line) => ({ line }))
  }
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw new ApiError(
      400,
      'ERR_BAD_REQUEST',
      'the body is not valid JSON (use NDJSON for per-line answers)',
    )
  }
  return Array.isArray(value) ? value.map((v) => ({ value: v })) : [{ value }]
}

export const ingestRoutes: FastifyPluginAsync<IngestDeps & { authenticate: Authenticate }> = async (
  app,
  deps,
) => {
  // Bodies arrive as text: JSON is parsed here so one bad element cannot fail the whole request.
  app.addContentTypeParser(
    ['application/json', 'application/x-ndjson'],
    { parseAs: 'string' },
    (_, body, done) => done(null, body),
  )

  app.post(
    '/ingest',
    {
      schema: {
        response: responses({ 200: IngestResponseSchema }),
      },
    },
    async (request) => {
      const caller = await deps.authenticate(request.headers.authorization)
      requireRole(caller, 'ingest')
      const contentType = request.headers['content-type'] ?? ''
      if (!/^application\/(json|x-ndjson)\b/.test(contentType))
        throw new ApiError(
          415,
          'ERR_UNSUPPORTED_MEDIA_TYPE',
          'use application/json or application/x-ndjson',
        )
      const items = toItems(String(request.body ?? ''), contentType)
      if (items.length === 0) throw new ApiError(400, 'ERR_BAD_REQUEST', 'no events in the body')
      if (items.length > MAX_EVENTS_PER_REQUEST)
        throw new ApiError(
          413,
          'ERR_PAYLOAD_TOO_LARGE',
          `at most ${MAX_EVENTS_PER_REQUEST} events per request (got ${items.length})`,
        )
      const results = await ingest(
        items,
        {
          requestId: request.id,
          receivedAt: Date.now(),
          retentionDays: deps.retentionDays,
          tenant: caller.tenant,
          aliases: deps.aliases,
        },
        deps.target,
      )
      const accepted = results.filter((r) => r.status === 'accepted').length
      deps.pipeline.consumed.inc(items.length)
      deps.pipeline.rejected.inc(items.length - accepted)
      return { accepted, rejected: items.length - accepted, results }
    },
  )
}
