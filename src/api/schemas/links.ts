/**
 * Operation ids for every operation of the OpenAPI document, and the links between operations
 * (a list's item to its detail, a created exception to its deletion): clients follow them, and
 * schemathesis' stateful phase uses them to reach real findings, tokens and exceptions.
 */
type Operation = Record<string, unknown> & {
  operationId?: string
  responses?: Record<string, Record<string, unknown>>
}
type Paths = Record<string, Record<string, Operation>>

const IDS: Record<string, string> = {
  'post /v1/ingest': 'ingestEvents',
  'get /v1/events': 'searchEvents',
  'get /v1/tokens/{key}': 'getTokenTimeline',
  'get /v1/findings': 'listFindings',
  'get /v1/findings/{id}': 'getFinding',
  'patch /v1/findings/{id}': 'triageFinding',
  'get /v1/resources': 'listResources',
  'get /v1/clients': 'listClients',
  'get /v1/rules': 'listRules',
  'get /v1/exceptions': 'listExceptions',
  'post /v1/exceptions': 'createException',
  'delete /v1/exceptions/{id}': 'deleteException',
  'get /healthz': 'liveness',
  'get /readyz': 'readiness',
  'get /metrics': 'metrics',
}

/** [from operation, status, link name, to operation, parameter, runtime expression] */
const LINKS: [string, string, string, string, string, string][] = [
  ['searchEvents', '200', 'TokenOfFirstEvent', 'getTokenTimeline', 'key', 'items/0/token_key'],
  ['listFindings', '200', 'FirstFinding', 'getFinding', 'id', 'items/0/id'],
  ['listFindings', '200', 'TriageFirstFinding', 'triageFinding', 'id', 'items/0/id'],
  ['getFinding', '200', 'TokenOfFinding', 'getTokenTimeline', 'key', 'keys/token_key'],
  ['createException', '201', 'DeleteException', 'deleteException', 'id', 'id'],
  ['listExceptions', '200', 'DeleteFirstException', 'deleteException', 'id', 'items/0/id'],
]

/** `getV1ReportsCompliance` for an operation the table does not name. */
function derivedId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((w) => w !== '')
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

export function withOperationLinks<P extends Paths>(paths: P): P {
  const byId = new Map<string, Operation>()
  for (const [path, methods] of Object.entries(paths))
    for (const [method, op] of Object.entries(methods)) {
      op.operationId ??= IDS[`${method} ${path}`] ?? derivedId(method, path)
      byId.set(op.operationId, op)
    }
  for (const [from, status, name, to, parameter, pointer] of LINKS) {
    const response = byId.get(from)?.responses?.[status]
    if (!response || !byId.has(to)) continue
    const links = (response.links ??= {}) as Record<string, unknown>
    links[name] = { operationId: to, parameters: { [parameter]: `$response.body#/${pointer}` } }
  }
  return paths
}
