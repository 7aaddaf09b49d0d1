/**
 * POST /v1/ingest: a JSON array (or one object) or NDJSON of events. Answers per event; invalid
 * events are rejected with their reasons and kept in the DLQ, valid ones are kept, and a valid
 * event whose id is already stored is answered `duplicate` (and not stored again).
 */
import { splitJson, splitNdjson } from '../../pipeline/body.js'
import { decodePayload, NOT_JSON } from '../../pipeline/decode.js'
import type { IngestItem, IngestResult } from '../../pipeline/ingest.js'
import { ApiError } from '../errors.js'
import { fairnessOf } from '../fairness.js'
import { defineRoute } from '../route.js'
import { componentRef } from '../schemas/json-schema.js'
import { ingestInSlices } from '../sliced-ingest.js'
import { IngestResponseSchema } from '../schemas/service.js'

export const MAX_EVENTS_PER_REQUEST = 10_000

const AUDIT_EVENT = componentRef('AuditEvent')

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

export const routes = [
  defineRoute({
    method: 'POST',
    url: '/v1/ingest',
    operationId: 'ingestEvents',
    summary: 'Ingest events (JSON array or object, or NDJSON); answers per event',
    role: 'ingest',
    serves: 'ingest',
    // Bodies arrive as bytes: decoding them as text here would put U+FFFD for bytes that are not
    // UTF-8 (the events are decoded one by one, and refused); parsing the whole body would fail
    // every event for one bad element.
    rawBody: {
      'application/json': {
        oneOf: [AUDIT_EVENT, { type: 'array', items: AUDIT_EVENT }],
      },
      'application/x-ndjson': { type: 'string' },
    },
    responses: { 200: IngestResponseSchema },
    errors: { 413: 'body too large or too many events', 415: 'not JSON or NDJSON' },
    handler: async ({ request, caller, deps: { ingest, authenticate } }) => {
      const contentType = request.headers['content-type'] ?? ''
      if (!/^application\/(json|x-ndjson)\b/.test(contentType))
        throw new ApiError(
          415,
          'ERR_UNSUPPORTED_MEDIA_TYPE',
          'use application/json or application/x-ndjson',
        )
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      // Weighted by its events, a slot of the tenant's expensive work when large (fairness.ts).
      const fairness = fairnessOf(authenticate)
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
            retentionDays: ingest.retentionDays,
            tenant: caller.tenant,
            aliases: ingest.aliases,
          },
          ingest.target,
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
      ingest.pipeline.consumed.inc(items.length)
      // Behind Kafka, the consumer stores (and counts) the accepted events.
      if (ingest.target.stores === true) ingest.pipeline.inserted.inc(answer.accepted)
      ingest.pipeline.duplicates.inc(answer.duplicates)
      ingest.pipeline.rejected.inc(answer.rejected)
      return answer
    },
  }),
]
