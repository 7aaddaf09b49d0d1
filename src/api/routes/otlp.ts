/**
 * OTLP/HTTP intake (docs/otlp.md): `POST /v1/otlp/logs` and `POST /v1/otlp/traces`, protobuf or
 * JSON, gzip or not, with the ingest role, tenant rules and limits of `/v1/ingest`, answered as
 * the OTLP specification answers an export (a partial success naming what was not stored).
 *
 * `/v1/otlp/v1/logs` and `/v1/otlp/v1/traces` are the same operations at the paths an exporter
 * builds from a base endpoint (`endpoint: https://audtrail.example.com/v1/otlp` in a Collector's
 * `otlphttp` exporter, or OTEL_EXPORTER_OTLP_ENDPOINT in an SDK, append `/v1/logs`).
 */
import { fairnessOf } from '../fairness.js'
import { defineRoute, type Route } from '../route.js'
import { contentOf, decodeBody, encodingOf } from '../../otlp/body.js'
import { answer, intake } from '../../otlp/intake.js'
import type { Decoded, Signal } from '../../otlp/model.js'

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
      const encoding = encodingOf(request.headers['content-type'])
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const limit = request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT
      const bytes = await contentOf(raw, request.headers['content-encoding'], limit)
      const fairness = fairnessOf(authenticate)
      let decoded: Decoded = { records: [], count: 0 }
      const release = fairness.admitIngest(caller.tenant ?? '*', bytes.byteLength, () => {
        decoded = decodeBody(bytes, encoding, signal)
        return decoded.count
      })
      let outcome
      try {
        outcome = await intake(
          decoded.records,
          signal,
          {
            requestId: request.id,
            receivedAt: Date.now(),
            tenant: caller.tenant,
            slicing: fairness.slicing,
          },
          ingest,
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
