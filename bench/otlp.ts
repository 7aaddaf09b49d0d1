/**
 * bench:otlp — the same benign events through `POST /v1/ingest` (NDJSON) and `POST /v1/otlp/logs`
 * (OTLP protobuf, the SDK's own serializer, records carrying `audtrail.*` attributes), in requests
 * of `BENCH_BATCH` (default 1 000) events, into memory storage: the HTTP path's own cost (JWT
 * auth, decode, map, validate, enrich) without a database. `BENCH_EVENTS` (default 50 000).
 * Prints each arm's events per second and their ratio, then one JSON line.
 */
import { SeverityNumber } from '@opentelemetry/api-logs'
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs'
import { createMemorySink } from '../src/pipeline/memory-sink.js'
import { memoryIngest, testApp } from '../test/helpers/api-app.js'
import { apiKeys } from '../test/helpers/api-tokens.js'
import { benchEvent } from './events.js'

const N = Number(process.env.BENCH_EVENTS ?? 50_000)
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000)

type Event = Record<string, unknown> & {
  token: { jti: string; iat: number; exp: number; aud: string[] }
  source: { id: string }
  tool: { name: string }
  network: { ip: string }
  http: { status: number }
}

/** The event as a log record's attributes (the audtrail.* namespace and the conventions). */
function attributes(e: Event) {
  return {
    'mcp.method.name': 'tools/call',
    'gen_ai.tool.name': e.tool.name,
    'client.address': e.network.ip,
    'audtrail.event_id': e.event_id as string,
    'audtrail.issuer': e.issuer as string,
    'audtrail.client_id': e.client_id as string,
    'audtrail.subject': e.subject as string,
    'audtrail.token.jti': e.token.jti,
    'audtrail.token.iat': e.token.iat,
    'audtrail.token.exp': e.token.exp,
    'audtrail.token.aud': e.token.aud,
    'audtrail.token.format': 'jwt',
    'audtrail.resource': e.resource as string,
    'audtrail.presented_aud': e.presented_aud as string[],
    'audtrail.aud_validated': true,
    'audtrail.decision': e.decision as string,
    'audtrail.reason': e.reason as string,
    'audtrail.source.id': e.source.id,
  }
}

async function otlpBody(events: Event[]): Promise<Uint8Array> {
  const memory = new InMemoryLogRecordExporter()
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-mcp' }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  })
  const logger = provider.getLogger('bench')
  for (const e of events)
    logger.emit({ severityNumber: SeverityNumber.INFO, body: 'call', attributes: attributes(e) })
  await provider.forceFlush()
  const body = ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords())!
  await provider.shutdown()
  return body
}

async function main() {
  const keys = await apiKeys()
  const token = await keys.token({ roles: ['ingest'], tenant: 'bench' }, { expiresIn: '1h' })
  const batches: { ndjson: string; otlp: Uint8Array }[] = []
  for (let i = 0; i < N; i += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, N - i) }, () => benchEvent() as Event)
    batches.push({
      ndjson: events.map((e) => JSON.stringify(e)).join('\n'),
      otlp: await otlpBody(events),
    })
  }
  const rates: Record<string, number> = {}
  for (const arm of ['ingest-ndjson', 'otlp-protobuf'] as const) {
    const sink = createMemorySink()
    const app = await testApp(keys, memoryIngest(sink))
    const start = performance.now()
    for (const b of batches) {
      const res = await app.inject({
        method: 'POST',
        url: arm === 'ingest-ndjson' ? '/v1/ingest' : '/v1/otlp/logs',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type':
            arm === 'ingest-ndjson' ? 'application/x-ndjson' : 'application/x-protobuf',
        },
        payload: arm === 'ingest-ndjson' ? b.ndjson : Buffer.from(b.otlp),
      })
      if (res.statusCode !== 200) throw new Error(`${arm}: ${res.statusCode} ${res.body}`)
    }
    const seconds = (performance.now() - start) / 1000
    await app.close()
    if (sink.rows.length !== N) throw new Error(`${arm}: stored ${sink.rows.length} of ${N}`)
    rates[arm] = N / seconds
    console.log(`${arm}: ${Math.round(rates[arm]!)} events/s (${N} events, ${BATCH} a request)`)
  }
  const ratio = rates['otlp-protobuf']! / rates['ingest-ndjson']!
  console.log(`otlp / ingest: ${ratio.toFixed(2)}x`)
  console.log(JSON.stringify({ bench: 'otlp', events: N, batch: BATCH, rates, ratio }))
}

await main()
