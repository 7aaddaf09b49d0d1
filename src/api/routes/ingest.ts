/**
 * POST /v1/ingest: a JSON array (or one object) or NDJSON of events. Answers per event; invalid
 * events are rejected with their reasons and kept in the DLQ, valid ones are kept, and a valid
 * event whose id is already stored is answered `duplicate` (and not stored again).
 */
import type { FastifyPluginAsync } from 'fastify'
import type { AliasLookup } from '../../events/resource.js'
import type { PipelineMetrics } from '../../metrics.js'
import { splitJson, splitNdjson } from '../../pipeline/body.js'
import { decodePayload, NOT_JSON } from '../../pipeline/decode.js'
import type { IngestItem, IngestResult, IngestTarget } from '../../pipeline/ingest.js'
import { requireRole, type Authenticate } from '../auth.js'
import { ApiError } from '../errors.js'
import { fairnessOf } from '../fairness.js'
import { ingestInSlices } from '../sliced-ingest.js'
import { IngestResponseSchema } from '../schemas/service.js'
import { responses } from './common.js'

export const MAX_EVENTS_PER_REQUEST = 10_000

export interface IngestDeps {
  target: IngestTarget
  retentionDays: number
  pipeline: PipelineMetrics
  aliases?: AliasLookup
}

const NOT_JSON_BODY = 'the body is not valid JSON (use NDJSON for per-line answers)'

/**
 * The body's events as bytes, each decoded on its own by the pipeline (decodePayload, the rule of
 * the Kafka path): an event that is not UTF-8, not JSON or too large is refused by itself.
 */
function toItems(body: Buffer, contentType: string): IngestItem[] {
  const split = contentType.startsWith('application/x-ndjson')
    ? splitNdjson(body, MAX_EVENTS_PER_REQUEST)
    : splitJson(body, MAX_EVENTS_PER_REQUEST)
  if ('ok' in split) throw new ApiError(400, 'ERR_BAD_REQUEST', NOT_JSON_BODY)
  if (split.count > MAX_EVENTS_PER_REQUEST)
    throw new ApiError(
      413,
      'ERR_PAYLOAD_TOO_LARGE',
      `at most ${MAX_EVENTS_PER_REQUEST} events per request (got ${split.count})`,
    )
  // A body that is one value and not JSON is refused whole, as it was before it was cut up.
  if ('single' in split && split.single) {
    const decoded = decodePayload(split.items[0]!.payload)
    if (!decoded.ok && decoded.reason === NOT_JSON)
      throw new ApiError(400, 'ERR_BAD_REQUEST', NOT_JSON_BODY)
  }
  return split.items
}

export const ingestRoutes: FastifyPluginAsync<IngestDeps & { authenticate: Authenticate }> = async (
  app,
  deps,
) => {
  // Bodies arrive as bytes: decoding them as text here would put U+FFFD for bytes that are not
  // UTF-8 (the events are decoded one by one, and refused); parsing the whole body would fail
  // every event for one bad element.
  app.addContentTypeParser(
    ['application/json', 'application/x-ndjson'],
    { parseAs: 'buffer' },
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
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      // Weighted by its events, a slot of the tenant's expensive work when large (fairness.ts).
      const fairness = fairnessOf(deps.authenticate)
      let items: IngestItem[] = []
      const release = fairness.admitIngest(caller.tenant ?? '*', body.byteLength, () => {
        items = toItems(body, contentType)
        if (items.length === 0) throw new ApiError(400, 'ERR_BAD_REQUEST', 'no events in the body')
        return items.length
      })
      let results: IngestResult[]
      try {
        results = await ingestInSlices(
          items,
          {
            requestId: request.id,
            receivedAt: Date.now(),
            retentionDays: deps.retentionDays,
            tenant: caller.tenant,
            aliases: deps.aliases,
          },
          deps.target,
          fairness.slicing,
        )
      } finally {
        release()
      }
      const count = (status: IngestResult['status']) =>
        results.filter((r) => r.status === status).length
      const answer = {
        accepted: count('accepted'),
        duplicates: count('duplicate'),
        rejected: count('rejected'),
        results,
      }
      deps.pipeline.consumed.inc(items.length)
      // Behind Kafka, the consumer stores (and counts) the accepted events.
      if (deps.target.stores === true) deps.pipeline.inserted.inc(answer.accepted)
      deps.pipeline.duplicates.inc(answer.duplicates)
      deps.pipeline.rejected.inc(answer.rejected)
      return answer
    },
  )
}
