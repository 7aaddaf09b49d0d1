/**
 * mcp-unvalidated-headers: an MCP 2026-07-28 request served although its required `Mcp-Method` /
 * `Mcp-Name` / `MCP-Protocol-Version` headers were missing or disagreed with the body, or an
 * intermediary that acted on mirrored headers of a request whose version does not validate them.
 */
import { z } from 'zod'
import type { EventRow } from '../../events/event-row.js'
import type { EventRule } from '../rule.js'
import { exampleEvents, MCP, toolCall } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { attribute, detect, isPresentation, presentationEvidence, stringList } from './lib/rows.js'

/** The first revision whose servers MUST validate the standard headers against the body. */
export const HEADER_VALIDATION_REVISION = '2026-07-28'
/** Methods whose `Mcp-Name` is required: the source is `params.name` or `params.uri`. */
const NAME_REQUIRED = ['tools/call', 'resources/read', 'prompts/get']

const params = z.object({
  flagIntermediaries: z
    .boolean()
    .default(true)
    .describe(
      'also flag a gateway that served a request carrying mirrored headers whose protocol version is older than 2026-07-28 or absent (its headers were never validated against the body)',
    ),
})
const ev = exampleEvents('mcp-unvalidated-headers')
const META = { mcp_protocol_version: '2026-07-28', mcp_meta_protocol_version: '2026-07-28' }
const CLIENT = { name: 'ExampleClient', version: '1.0.0' }
const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

type Problem =
  | 'missing_mcp_method'
  | 'missing_mcp_name'
  | 'method_mismatch'
  | 'name_mismatch'
  | 'missing_protocol_version_header'
  | 'protocol_version_mismatch'
  | 'unvalidated_headers_trusted'

const text = (v: unknown) => (typeof v === 'string' ? v : '')

/** Served: the token was accepted and the HTTP answer was not an error (a -32020 is a 400). */
function served(row: EventRow): boolean {
  if (row.decision !== 'accepted') return false
  // No status: served unless the client went away first (then nobody knows what would have run).
  if (row.http_status === null) return attribute(row, 'aborted') !== true
  return row.http_status < 400
}

/** What the request carried instead of a session: the client's `_meta` identity and trace id. */
export function correlation(row: EventRow): Record<string, unknown> {
  const client = attribute(row, 'mcp_client') as { name?: unknown; version?: unknown } | undefined
  const trace = text(attribute(row, 'traceparent'))
  return {
    token_key: row.token_key,
    client_info:
      client && typeof client === 'object'
        ? { name: text(client.name), version: text(client.version) }
        : null,
    trace_id: trace === '' ? null : trace.split('-')[1],
    mcp_session_id: text(attribute(row, 'mcp_session_id')) || null,
  }
}

export const mcpUnvalidatedHeaders: EventRule<typeof params> = {
  kind: 'event',
  id: 'mcp-unvalidated-headers',
  title: 'MCP 2026-07-28 request served without valid standard headers',
  severity: 'high',
  description:
    'An MCP server served (token accepted, HTTP status below 400) a request of protocol revision ' +
    '2026-07-28 or later (`MCP-Protocol-Version` header or `_meta` ' +
    '`io.modelcontextprotocol/protocolVersion`) whose required standard headers were missing or ' +
    'disagreed with the body: no `Mcp-Method`; no `Mcp-Name` on `tools/call`, `resources/read` or ' +
    '`prompts/get` with a name in the body; a header that differs from the body; no ' +
    '`MCP-Protocol-Version` header, or one that differs from `_meta`. Medium when a gateway served a ' +
    'request with mirrored headers whose version is older or absent (headers nobody validated). ' +
    'Notifications are left out (the revision defines no header rules for them). Without sessions, ' +
    'the finding is keyed by resource, client id and the `_meta` client info, and carries the ' +
    'token key and `traceparent` trace id. `mcp-tool-header-mismatch` reports every mismatch, ' +
    'served or refused, of any revision; this rule reports what a server let through although ' +
    'the revision required it to refuse.',
  rationale:
    'The 2026-07-28 revision makes `Mcp-Method` and `Mcp-Name` REQUIRED and says a server MUST ' +
    'reject a request whose client omitted a header whose value is in the body, or whose header ' +
    'disagrees with the body (400, -32020 HeaderMismatch): gateways, WAFs and rate limiters route ' +
    'and authorize on the headers, the server executes the body. A server that serves such a ' +
    'request does not validate, so a request can be authorized as one tool and run as another; an ' +
    'intermediary that trusts headers of a version that does not require validation has the same ' +
    'gap, which is why the revision tells it to reject rather than trust them.',
  references: [REF.mcp2026Headers, REF.mcp2026Sessions, REF.sep2243],
  mappings: {
    owasp_nhi: ['NHI4'],
    owasp_asi: ['ASI02', 'ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'PR.AA-05', 'PR.PS-01'],
    nist_800_53: ['SI-10', 'SI-4', 'AC-3', 'CM-6'],
    nist_800_207: ['tenet-4', 'tenet-6'],
    mcp_2026_07_28: ['mcp-http/standard-request-headers', 'mcp-http/server-validation'],
    mitre: [],
  },
  falsePositives: [
    'A server that validates the headers but answers the violation with a 2xx JSON-RPC error (non-conforming status): check the response body.',
    'A proxy in front of the server that strips or rewrites `Mcp-*` headers (the server then sees what the client did not send).',
    'A collector behind a body parser that drops `params._meta` (the version then comes from the header only).',
  ],
  runbook: [
    'Read `problems`, `header` and `body` in the evidence; `correlation` names the token key, the `_meta` client and the trace id to find the same client elsewhere without a session.',
    'Upgrade the server or its SDK to one that rejects with -32020 (the TypeScript SDK v2 `createMcpHandler` does), or put header validation in front of it.',
    "For a gateway: make it reject requests below 2026-07-28 that carry mirrored headers it acts on, and review what its policy allowed on the header's word.",
    'Review what the body actually invoked: the tool that ran may not be the one the policy layer saw.',
  ],
  params,
  dedupKey: ['resource', 'client_id', 'client_info'],
  dedupWindowS: 3600,
  evaluate(row, _state, ctx) {
    if (!isPresentation(row) || !served(row)) return []
    const headerVersion = text(attribute(row, 'mcp_protocol_version'))
    const metaVersion = text(attribute(row, 'mcp_meta_protocol_version'))
    const version = metaVersion || headerVersion
    const method = row.tool_method
    const problems: Problem[] = []
    let severity: 'medium' | undefined
    if (version >= HEADER_VALIDATION_REVISION) {
      if (method === '' || method.startsWith('notifications/')) return []
      const methods = stringList(attribute(row, 'jsonrpc_methods')) ?? [method]
      const names = stringList(attribute(row, 'jsonrpc_tools')) ?? [row.tool_name]
      if (row.tool_header_method === '') problems.push('missing_mcp_method')
      else if (!methods.includes(row.tool_header_method)) problems.push('method_mismatch')
      if (row.tool_header_name !== '' && row.tool_name !== '') {
        if (!names.includes(row.tool_header_name) && row.tool_header_name !== row.tool_name)
          problems.push('name_mismatch')
      } else if (row.tool_header_name === '' && row.tool_name !== '') {
        if (NAME_REQUIRED.includes(method)) problems.push('missing_mcp_name')
      }
      if (headerVersion === '') problems.push('missing_protocol_version_header')
      else if (metaVersion !== '' && headerVersion !== metaVersion)
        problems.push('protocol_version_mismatch')
    } else if (
      ctx.params.flagIntermediaries &&
      row.source_kind === 'gateway' &&
      (row.tool_header_method !== '' || row.tool_header_name !== '')
    ) {
      problems.push('unvalidated_headers_trusted')
      severity = 'medium'
    }
    if (problems.length === 0) return []
    const corr = correlation(row)
    const info = corr.client_info as { name: string; version: string } | null
    return [
      detect(
        row,
        {
          resource: row.resource_canonical,
          client_id: row.client_id,
          client_info: info === null ? '' : `${info.name}/${info.version}`,
        },
        {
          problems,
          protocol_version: { header: headerVersion || null, meta: metaVersion || null },
          header: { method: row.tool_header_method || null, name: row.tool_header_name || null },
          body: { method: method || null, name: row.tool_name || null },
          http_status: row.http_status,
          correlation: corr,
          ...presentationEvidence(row),
        },
        severity === undefined ? {} : { severity },
      ),
    ]
  },
  examples: [
    {
      name: 'a 2026-07-28 tools/call without Mcp-Name served by a server that does not validate',
      fires: true,
      severity: 'high',
      events: [
        ev.presented({
          tool: { method: 'tools/call', name: 'delete_file', header_method: 'tools/call' },
          attributes: { ...META, mcp_client: CLIENT, traceparent: TRACE },
        }),
      ],
    },
    {
      name: 'a 2026-07-28 request whose Mcp-Name disagrees with the body, served',
      fires: true,
      events: [
        ev.presented({
          tool: toolCall('delete_file', 'read_file'),
          attributes: { ...META, mcp_client: CLIENT },
        }),
      ],
    },
    {
      name: 'a request whose _meta says 2026-07-28 with no standard headers at all',
      fires: true,
      events: [
        ev.presented({
          resource: MCP,
          tool: { method: 'tools/list' },
          attributes: { mcp_meta_protocol_version: '2026-07-28', mcp_client: CLIENT },
        }),
      ],
    },
    {
      name: 'a gateway served a 2025-11-25 request on the word of its mirrored headers',
      fires: true,
      severity: 'medium',
      events: [
        ev.presented({
          source: { kind: 'gateway', id: 'edge-gw' },
          tool: toolCall('delete_file', 'read_file'),
          attributes: { mcp_protocol_version: '2025-11-25' },
        }),
      ],
    },
    {
      name: 'a conforming 2026-07-28 request with every header mirroring the body',
      fires: false,
      events: [
        ev.presented({
          tool: toolCall('read_file'),
          attributes: { ...META, mcp_client: CLIENT, traceparent: TRACE },
        }),
      ],
    },
    {
      name: 'a 2026-07-28 server that rejected the missing header with 400 (-32020)',
      fires: false,
      events: [
        ev.presented({
          tool: { method: 'tools/call', name: 'delete_file', header_method: 'tools/call' },
          http: { method: 'POST', path: '/mcp', status: 400 },
          attributes: META,
        }),
      ],
    },
    {
      name: 'a 2025-11-25 client without the headers at a server',
      fires: false,
      events: [ev.presented({ attributes: { mcp_protocol_version: '2025-11-25' } })],
    },
    {
      name: 'a 2026-07-28 tools/list needs no Mcp-Name',
      fires: false,
      events: [
        ev.presented({
          tool: { method: 'tools/list', header_method: 'tools/list' },
          attributes: META,
        }),
      ],
    },
  ],
}
