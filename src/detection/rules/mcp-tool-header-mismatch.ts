/** mcp-tool-header-mismatch: SEP-2243 `Mcp-Method` / `Mcp-Name` disagree with the JSON-RPC body. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, toolCall } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { attribute, detect, isPresentation, presentationEvidence, stringList } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('mcp-tool-header-mismatch')

export const mcpToolHeaderMismatch: EventRule<typeof params> = {
  kind: 'event',
  id: 'mcp-tool-header-mismatch',
  title: 'MCP request headers disagree with the JSON-RPC body',
  severity: 'medium',
  description:
    'An MCP request carried SEP-2243 `Mcp-Method` or `Mcp-Name` header values that differ from ' +
    'the JSON-RPC `method` or tool name (or `params.uri`) in its body. Only values present on both ' +
    'sides are compared (exact, case-sensitive); for a JSON-RPC batch the header may name any ' +
    'request of the batch (`attributes.jsonrpc_methods` / `jsonrpc_tools`).',
  rationale:
    'SEP-2243 mirrors the method and target into headers so gateways, WAFs and rate limiters can ' +
    'route and authorize without parsing the body, and servers must reject a mismatch. A request ' +
    'whose headers say one tool while the body calls another is evading exactly that policy ' +
    'layer: the tool that runs is not the tool that was authorized or metered.',
  references: [REF.sep2243, REF.mcpTokenHandling],
  mappings: {
    owasp_nhi: ['NHI4'],
    owasp_asi: ['ASI02', 'ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'PR.AA-05'],
    nist_800_53: ['SI-10', 'SI-4', 'AC-3'],
    nist_800_207: ['tenet-4', 'tenet-6'],
    mcp_2026_07_28: ['mcp-http/server-validation'],
    mitre: [],
  },
  falsePositives: [
    'A client SDK that sets the headers once per session and reuses them for later requests (a bug).',
    'A proxy that rewrites one side (tool renaming or namespacing) and not the other.',
  ],
  runbook: [
    'Compare `header` and `body` values in the evidence; note whether the server accepted the request.',
    'If it was accepted, check that the server (or its SDK) enforces SEP-2243 header validation.',
    "Review what the body's tool did, and what the gateway allowed on the header's behalf.",
  ],
  params,
  dedupKey: ['resource', 'client_id'],
  dedupWindowS: 3600,
  evaluate(row) {
    if (!isPresentation(row)) return []
    const methods = stringList(attribute(row, 'jsonrpc_methods')) ?? [row.tool_method]
    const names = stringList(attribute(row, 'jsonrpc_tools')) ?? [row.tool_name]
    const mismatches: string[] = []
    if (row.tool_header_method !== '' && row.tool_method !== '') {
      if (!methods.includes(row.tool_header_method)) mismatches.push('method')
    }
    if (row.tool_header_name !== '' && row.tool_name !== '') {
      if (!names.includes(row.tool_header_name) && row.tool_header_name !== row.tool_name)
        mismatches.push('name')
    }
    if (mismatches.length === 0) return []
    return [
      detect(
        row,
        { resource: row.resource_canonical, client_id: row.client_id },
        {
          mismatches,
          header: { method: row.tool_header_method, name: row.tool_header_name },
          body: { method: row.tool_method, name: row.tool_name },
          ...presentationEvidence(row),
        },
      ),
    ]
  },
  examples: [
    {
      name: 'the header names a harmless tool while the body calls another',
      fires: true,
      events: [
        ev.presented({
          tool: toolCall('delete_file', 'read_file'),
        }),
      ],
    },
    {
      name: 'the header method disagrees with the body method',
      fires: true,
      events: [
        ev.presented({
          tool: { method: 'tools/call', name: 'read_file', header_method: 'tools/list' },
        }),
      ],
    },
    {
      name: 'headers that mirror the body',
      fires: false,
      events: [
        ev.presented({
          tool: toolCall('read_file'),
        }),
      ],
    },
    {
      name: 'a client that sends no SEP-2243 headers',
      fires: false,
      events: [ev.presented()],
    },
  ],
}
