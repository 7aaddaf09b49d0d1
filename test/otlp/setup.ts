/**
 * The OTLP tests' API: a listening app with memory storage, tokens of a tenant, and OpenTelemetry
 * SDK records (spans, log records) made by the SDK itself, sent by its own exporters.
 */
import { SpanKind, type Attributes } from '@opentelemetry/api'
import { SeverityNumber } from '@opentelemetry/api-logs'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { createMemorySink, type MemorySink } from '../../src/pipeline/memory-sink.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { apiKeys } from '../helpers/api-tokens.js'

export interface Harness {
  app: FastifyInstance
  sink: MemorySink
  keys: Awaited<ReturnType<typeof apiKeys>>
  base: string
  close(): Promise<void>
}

export async function harness(extra: { bodyLimit?: number } = {}): Promise<Harness> {
  const keys = await apiKeys()
  const sink = createMemorySink()
  const app = await testApp(keys, { ...memoryIngest(sink), ...extra })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { app, sink, keys, base: `http://127.0.0.1:${port}`, close: () => app.close() }
}

export interface SpanSpec {
  name: string
  kind?: SpanKind
  attributes: Attributes
}

/** Spans as the SDK finishes them (a provider with `resource`), ready for an exporter. */
export async function sdkSpans(resource: Attributes, specs: SpanSpec[]): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  })
  const tracer = provider.getTracer('audtrail-otlp-test', '1.0.0')
  for (const spec of specs)
    tracer
      .startSpan(spec.name, { kind: spec.kind ?? SpanKind.SERVER, attributes: spec.attributes })
      .end()
  await provider.forceFlush()
  const spans = memory.getFinishedSpans()
  await provider.shutdown()
  return spans
}

/** Log records as the SDK emits them (a provider with `resource`). */
export async function sdkLogs(
  resource: Attributes,
  records: { body: string; attributes: Attributes }[],
): Promise<ReadableLogRecord[]> {
  const memory = new InMemoryLogRecordExporter()
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  })
  const logger = provider.getLogger('audtrail-otlp-test', '1.0.0')
  for (const r of records)
    logger.emit({ severityNumber: SeverityNumber.INFO, body: r.body, attributes: r.attributes })
  await provider.forceFlush()
  const out = memory.getFinishedLogRecords()
  await provider.shutdown()
  return out
}

/** Exports `items` with `exporter` (an SDK OTLP exporter), resolving its export result. */
export function exportWith<T>(
  exporter: { export(items: T[], done: (r: { code: number; error?: Error }) => void): void },
  items: T[],
): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(items, resolve))
}

/** The audtrail.* attributes of a complete presentation at an MCP server. */
export function presentation(extra: Attributes = {}): Attributes {
  return {
    'mcp.method.name': 'tools/call',
    'gen_ai.tool.name': 'get_weather',
    'mcp.session.id': 'sess-1',
    'client.address': '192.0.2.10',
    'audtrail.resource': 'https://mcp.example.com/mcp',
    'audtrail.token.jti': 'jti-1',
    'audtrail.presented_aud': ['https://mcp.example.com/mcp'],
    'audtrail.aud_validated': true,
    'audtrail.decision': 'accepted',
    'audtrail.reason': 'ok',
    'audtrail.client_id': 'agent-7',
    'audtrail.subject': 'alice',
    ...extra,
  }
}
