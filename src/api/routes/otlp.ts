/**
 * OTLP/HTTP intake (docs/otlp.md): `POST /v1/otlp/logs` and `POST /v1/otlp/traces`, protobuf or
 * JSON, gzip or not, with the ingest role, tenant rules and limits of `/v1/ingest`, answered as
 * the OTLP specification answers an export (a partial success naming what was not stored).
 *
 * `/v1/otlp/v1/logs` and `/v1/otlp/v1/traces` are the same operations at the paths an exporter
 * builds from a base endpoint (`endpoint: https://audtrail.example.com/v1/otlp` in a Collector's
 * `otlphttp` exporter, or OTEL_EXPORTER_OTLP_ENDPOINT in an SDK, append `/v1/logs`).
 */
import type { ApiErrorCode } from '../errors.js'
import { ApiError } from '../errors.js'
import { fairnessOf } from '../fairness.js'
import { defineRoute, type Route } from '../route.js'
import { ingestInSlices } from '../sliced-ingest.js'
import { contentOf, decodeBody, encodingOf } from '../../otlp/body.js'
import { answer, intake } from '../../otlp/intake.js'
import { OtlpRequestError, type Decoded, type Signal } from '../../otlp/model.js'

const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024

const NAMES: Record<Signal, { path: string; request: string; response: string; noun: string }> = {
  log: {
    path: 'logs',
    request: 'ExportLogsServiceRequest',
    response: 'ExportLogsServiceResponse',
    noun: 'log records',
  },
  span: {
    path: 'traces',
    request: 'ExportTraceServiceRequest',
    response: 'ExportTraceServiceResponse',
    noun: 'spans',
  },
}

const CODES: Record<OtlpRequestError['status'], ApiErrorCode> = {
  400: 'ERR_BAD_REQUEST',
  413: 'ERR_PAYLOAD_TOO_LARGE',
  415: 'ERR_UNSUPPORTED_MEDIA_TYPE',
}

/** `fn`'s refusals of the whole request in the API's error model. */
async function refusing<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof OtlpRequestError)
      throw new ApiError(err.status, CODES[err.status], err.message)
    throw err
  }
}

function otlpRoute(signal: Signal, url: string, operationId: string): Route {
  const n = NAMES[signal]
  const rejectedKey = signal === 'log' ? 'rejectedLogRecords' : 'rejectedSpans'
  return defineRoute({
    method: 'POST',
    url,
    operationId,
    summary: `OTLP/HTTP export of ${n.noun} (protobuf or JSON, gzip); answers a partial success`,
    role: 'ingest',
    serves: 'ingest',
    rawBody: {
      'application/x-protobuf': {
        type: 'string',
        format: 'binary',
        description: `an OTLP ${n.request} (opentelemetry-proto), optionally gzip (Content-Encoding)`,
      },
      'application/json': {
        type: 'object',
        description: `an OTLP ${n.request} in the OTLP JSON encoding (hex ids, lowerCamelCase keys)`,
      },
    },
    responses: {
      200: {
        description: `${n.response}: partial_success counts the ${n.noun} not stored as audit events, with the first reasons`,
        content: {
          'application/x-protobuf': { type: 'string', format: 'binary' },
          'application/json': {
            type: 'object',
            properties: {
              partialSuccess: {
                type: 'object',
                properties: {
                  [rejectedKey]: { type: 'string', description: 'int64, as a decimal string' },
                  errorMessage: { type: 'string' },
                },
              },
            },
          },
        },
      },
    },
    errors: {
      413: 'body too large (before or after gzip) or too many records',
      415: 'not application/x-protobuf or application/json, or an encoding other than gzip',
    },
    handler: async ({ request, reply, caller, deps: { ingest, authenticate } }) => {
      const encoding = await refusing(() => encodingOf(request.headers['content-type']))
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const limit = request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT
      const bytes = await refusing(() => contentOf(raw, request.headers['content-encoding'], limit))
      const fairness = fairnessOf(authenticate)
      let decoded: Decoded = { records: [], count: 0 }
      const release = fairness.admitIngest(caller.tenant ?? '*', bytes.byteLength, () => {
        try {
          decoded = decodeBody(bytes, encoding, signal)
        } catch (err) {
          if (!(err instanceof OtlpRequestError)) throw err
          throw new ApiError(err.status, CODES[err.status], err.message)
        }
        return decoded.count
      })
      const receivedAt = Date.now()
      let outcome
      try {
        outcome = await intake(
          decoded.records,
          signal,
          { requestId: request.id, receivedAt, tenant: caller.tenant },
          {
            ingest: (items) =>
              ingestInSlices(
                items,
                {
                  requestId: request.id,
                  receivedAt,
                  retentionDays: ingest.retentionDays,
                  tenant: caller.tenant,
                  aliases: ingest.aliases,
                },
                ingest.target,
                fairness.slicing,
              ),
            keep: async (refused) => {
              await ingest.target.write([], refused)
            },
          },
        )
      } finally {
        release()
      }
      ingest.pipeline.consumed.inc(outcome.records)
      if (ingest.target.stores === true) ingest.pipeline.inserted.inc(outcome.accepted)
      ingest.pipeline.duplicates.inc(outcome.duplicates)
      ingest.pipeline.rejected.inc(outcome.rejected)
      const { type, body } = answer(outcome, signal, encoding)
      return reply.code(200).type(type).send(body)
    },
  })
}

export const routes = [
  otlpRoute('log', '/v1/otlp/logs', 'otlpExportLogs'),
  otlpRoute('span', '/v1/otlp/traces', 'otlpExportTraces'),
  otlpRoute('log', '/v1/otlp/v1/logs', 'otlpExportLogsAtBase'),
  otlpRoute('span', '/v1/otlp/v1/traces', 'otlpExportTracesAtBase'),
]
