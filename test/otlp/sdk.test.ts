/**
 * The OpenTelemetry JS SDK's own exporters (OTLP/HTTP JSON and protobuf, gzip or not) send spans
 * and log records to a listening API; the events that land are read back from storage.
 */
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http'
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportWith, harness, presentation, sdkLogs, sdkSpans, type Harness } from './setup.js'

let h: Harness
let token: string

beforeAll(async () => {
  h = await harness()
  token = await h.keys.token({ roles: ['ingest'], tenant: 'acme' })
})
afterAll(() => h.close())

const exporters = {
  'traces, JSON': (url: string, gzip: boolean) =>
    new JsonTraceExporter({
      url,
      headers: { authorization: `Bearer ${token}` },
      compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    }),
  'traces, protobuf': (url: string, gzip: boolean) =>
    new ProtoTraceExporter({
      url,
      headers: { authorization: `Bearer ${token}` },
      compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    }),
}

describe('the SDK span exporters', () => {
  for (const [name, make] of Object.entries(exporters))
    for (const gzip of [false, true])
      it(`${name}${gzip ? ', gzip' : ''}: a tool call lands as a token.presented event`, async () => {
        const jti = `jti-${name}-${gzip}`
        const spans = await sdkSpans({ 'service.name': 'weather-mcp' }, [
          {
            name: 'tools/call get_weather',
            attributes: presentation({ 'audtrail.token.jti': jti }),
          },
        ])
        const result = await exportWith(make(`${h.base}/v1/otlp/traces`, gzip), spans)
        expect(result.code, String(result.error)).toBe(0)
        const row = h.sink.rows.find((r) => r.token_jti === jti)
        expect(row).toBeDefined()
        expect(row).toMatchObject({
          tenant: 'acme',
          event_type: 'token.presented',
          source_kind: 'mcp_server',
          source_id: 'weather-mcp',
          resource: 'https://mcp.example.com/mcp',
          decision: 'accepted',
          client_id: 'agent-7',
          subject: 'alice',
          tool_method: 'tools/call',
          tool_name: 'get_weather',
          session_id: 'sess-1',
        })
      })
})

describe('the SDK log exporters', () => {
  const make = {
    JSON: (url: string) =>
      new JsonLogExporter({ url, headers: { authorization: `Bearer ${token}` } }),
    protobuf: (url: string) =>
      new ProtoLogExporter({
        url,
        headers: { authorization: `Bearer ${token}` },
        compression: CompressionAlgorithm.GZIP,
      }),
  }
  for (const [name, exporter] of Object.entries(make))
    it(`${name}: agentgateway access logs land with the claims of the token`, async () => {
      const jti = `gw-${name}`
      const logs = await sdkLogs({ 'service.name': 'agentgateway' }, [
        {
          body: 'request',
          attributes: {
            'mcp.method.name': 'tools/call',
            'gen_ai.tool.name': 'search',
            'jwt.sub': 'bob',
            'jwt.iss': 'https://idp.example.com',
            'jwt.jti': jti,
            'jwt.aud': 'https://gw.example.com/mcp',
            'jwt.scope': 'mcp:tools mcp:read',
            'http.method': 'POST',
            'http.path': '/mcp',
            'http.status': 200,
            'src.addr': '198.51.100.7:53122',
            'audtrail.resource': 'https://gw.example.com/mcp',
            'audtrail.aud_validated': true,
          },
        },
      ])
      const result = await exportWith(exporter(`${h.base}/v1/otlp/logs`), logs)
      expect(result.code, String(result.error)).toBe(0)
      const row = h.sink.rows.find((r) => r.token_jti === jti)
      expect(row).toMatchObject({
        tenant: 'acme',
        source_kind: 'gateway',
        source_id: 'agentgateway',
        subject: 'bob',
        issuer: 'https://idp.example.com',
        decision: 'accepted',
        reason: 'ok',
        tool_name: 'search',
        http_status: 200,
        network_ip: '198.51.100.7',
      })
      expect(row!.presented_aud).toEqual(['https://gw.example.com/mcp'])
      expect(row!.token_scopes).toEqual(['mcp:tools', 'mcp:read'])
    })
})
