/**
 * One contract event as one `events` row and back. The row keeps every raw field and adds the
 * canonical forms, drift keys, token key and the class of the presented `aud` against the resource.
 * Absent strings are stored as '' (the contract never allows an empty identifier).
 */
import {
  canonicalizeResource,
  compareResources,
  type AliasLookup,
  type ResourceComparison,
} from '../events/resource.js'
import type { AuditEvent, TokenRefInfo } from '../events/schema.js'
import { tokenKey } from '../events/token-key.js'

export interface EventRow {
  tenant: string
  event_id: string
  event_type: AuditEvent['event_type']
  schema_version: number
  occurred_at: string
  received_at: string
  source_kind: string
  source_id: string
  issuer: string
  client_id: string
  subject: string
  session_id: string
  token_key: string
  token_key_kind: string
  token_jti: string
  token_fingerprint: string
  token_iat: number | null
  token_exp: number | null
  token_aud: string[]
  token_aud_canonical: string[]
  token_scopes: string[]
  token_format: string
  network_ip: string
  network_user_agent: string
  grant_type: string
  requested_resources: string[]
  requested_resources_canonical: string[]
  requested_resources_drift: string[]
  requested_scopes: string[]
  granted_aud: string[]
  granted_aud_canonical: string[]
  granted_aud_drift: string[]
  granted_scopes: string[]
  resource: string
  resource_canonical: string
  resource_drift_key: string
  resource_valid: boolean
  presented_aud: string[]
  presented_aud_canonical: string[]
  presented_aud_drift: string[]
  aud_match: ResourceComparison | ''
  aud_validated: boolean | null
  decision: string
  reason: string
  tool_method: string
  tool_name: string
  tool_header_method: string
  tool_header_name: string
  http_method: string
  http_path: string
  http_status: number | null
  subject_token_key: string
  subject_token_jti: string
  subject_token_fingerprint: string
  actor_subject: string
  actor_client_id: string
  actor_token_jti: string
  actor_token_fingerprint: string
  attributes: Record<string, string>
  // Sender-constrained tokens (migration 0014): the token's `cnf` and the presentation's proof.
  token_cnf_jkt: string
  token_cnf_x5t: string
  proof_scheme: string
  proof_verdict: string
  proof_failure: string
  proof_jti: string
  proof_iat: number | null
  proof_htm: string
  proof_htu: string
  proof_ath: string
  proof_alg: string
  proof_jkt: string
  proof_cert_x5t: string
}

export interface RowContext {
  /** When the pipeline received the event (ms since epoch). */
  receivedAt: number
  aliases?: AliasLookup
}

const CLASS_RANK: Record<ResourceComparison, number> = {
  identical: 3,
  equivalent: 2,
  variant: 1,
  different: 0,
}

/** The closest class of any presented `aud` value to the resource; '' when `aud` is unknown. */
export function bestAudienceMatch(
  resource: string,
  aud: readonly string[],
  aliases?: AliasLookup,
): ResourceComparison | '' {
  let best: ResourceComparison | '' = ''
  for (const a of aud) {
    const c = compareResources(resource, a, aliases)
    if (best === '' || CLASS_RANK[c] > CLASS_RANK[best]) best = c
    if (best === 'identical') break
  }
  return best
}

/** The last epoch-millisecond value converted (a chunk's rows share their received_at). */
let lastMs = NaN
let lastText = ''

/** ClickHouse DateTime64(3) text from an RFC 3339 UTC timestamp or epoch milliseconds. */
export function toDateTime64(value: string | number): string {
  if (typeof value === 'number') {
    if (value !== lastMs) {
      lastText = toDateTime64(new Date(value).toISOString())
      lastMs = value
    }
    return lastText
  }
  // The validated form, `YYYY-MM-DDThh:mm:ss.sssZ`: one slice each side of the T.
  if (value.length === 24 && value[10] === 'T' && value[23] === 'Z')
    return `${value.slice(0, 10)} ${value.slice(11, 23)}`
  return value.replace('T', ' ').replace('Z', '')
}

export function fromDateTime64(value: string): string {
  return `${value.replace(' ', 'T')}Z`
}

/**
 * The one empty list every row shares (most of a row's lists are empty: a dozen allocations per
 * event spared). Frozen, so that a change through one row would throw, not reach the others.
 */
const NONE = Object.freeze([]) as unknown as string[]
const NO_FORMS = Object.freeze({ canonical: NONE, drift: NONE })

/** The row's own copy of a list of the event (or the shared empty one). */
const copy = (list: readonly string[] | undefined): string[] =>
  list === undefined || list.length === 0 ? NONE : [...list]

function canonicalList(raw: readonly string[]) {
  if (raw.length === 0) return NO_FORMS
  const forms = raw.map((r) => canonicalizeResource(r))
  return { canonical: forms.map((f) => f.canonical), drift: forms.map((f) => f.driftKey) }
}

function ref(t: TokenRefInfo | undefined) {
  return { key: tokenKey(t)?.key ?? '', jti: t?.jti ?? '', fingerprint: t?.fingerprint ?? '' }
}

export function toEventRow(event: AuditEvent, ctx: RowContext): EventRow {
  const token = event.token
  const key = tokenKey(token)
  const tokenAud = token?.aud ?? NONE
  const requested = event.event_type === 'token.presented' ? NONE : event.requested_resources
  const granted =
    event.event_type === 'token.issued' || event.event_type === 'token.exchanged'
      ? event.granted_aud
      : NONE
  const presented = event.event_type === 'token.presented' ? event.presented_aud : NONE
  const resource = event.event_type === 'token.presented' ? event.resource : ''
  const resourceForm = resource === '' ? undefined : canonicalizeResource(resource)
  const requestedForms = canonicalList(requested)
  const grantedForms = canonicalList(granted)
  const presentedForms = canonicalList(presented)
  const subjectToken = ref(event.event_type === 'token.exchanged' ? event.subject_token : undefined)
  const actor = event.event_type === 'token.exchanged' ? event.actor : undefined
  const attributes: Record<string, string> = {}
  for (const [k, v] of Object.entries(event.attributes ?? {})) attributes[k] = JSON.stringify(v)
  const proof = event.event_type === 'token.presented' ? event.proof : undefined

  return {
    tenant: event.tenant,
    event_id: event.event_id.toLowerCase(),
    event_type: event.event_type,
    schema_version: event.schema_version,
    occurred_at: toDateTime64(event.occurred_at),
    received_at: toDateTime64(ctx.receivedAt),
    source_kind: event.source.kind,
    source_id: event.source.id,
    issuer: event.issuer ?? '',
    client_id: event.client_id ?? '',
    subject: event.subject ?? '',
    session_id: event.session_id ?? '',
    token_key: key?.key ?? '',
    token_key_kind: key?.kind ?? '',
    token_jti: token?.jti ?? '',
    token_fingerprint: token?.fingerprint ?? '',
    token_iat: token?.iat ?? null,
    token_exp: token?.exp ?? null,
    token_aud: copy(tokenAud),
    token_aud_canonical: canonicalList(tokenAud).canonical,
    token_scopes: copy(token?.scopes),
    token_format: token?.format ?? '',
    network_ip: event.network?.ip ?? '',
    network_user_agent: event.network?.user_agent ?? '',
    grant_type: event.event_type === 'token.issued' ? event.grant_type : '',
    requested_resources: copy(requested),
    requested_resources_canonical: requestedForms.canonical,
    requested_resources_drift: requestedForms.drift,
    requested_scopes:
      event.event_type === 'authorization.requested' || event.event_type === 'token.issued'
        ? copy(event.requested_scopes)
        : NONE,
    granted_aud: copy(granted),
    granted_aud_canonical: grantedForms.canonical,
    granted_aud_drift: grantedForms.drift,
    granted_scopes: event.event_type === 'token.issued' ? copy(event.granted_scopes) : NONE,
    resource,
    resource_canonical: resourceForm?.canonical ?? '',
    resource_drift_key: resourceForm?.driftKey ?? '',
    resource_valid: resourceForm?.valid ?? false,
    presented_aud: copy(presented),
    presented_aud_canonical: presentedForms.canonical,
    presented_aud_drift: presentedForms.drift,
    aud_match: resource === '' ? '' : bestAudienceMatch(resource, presented, ctx.aliases),
    aud_validated: event.event_type === 'token.presented' ? event.aud_validated : null,
    decision: event.event_type === 'token.presented' ? event.decision : '',
    reason: event.event_type === 'token.presented' ? event.reason : '',
    tool_method: (event.event_type === 'token.presented' && event.tool?.method) || '',
    tool_name: (event.event_type === 'token.presented' && event.tool?.name) || '',
    tool_header_method: (event.event_type === 'token.presented' && event.tool?.header_method) || '',
    tool_header_name: (event.event_type === 'token.presented' && event.tool?.header_name) || '',
    http_method: (event.event_type === 'token.presented' && event.http?.method) || '',
    http_path: (event.event_type === 'token.presented' && event.http?.path) || '',
    http_status: (event.event_type === 'token.presented' && event.http?.status) || null,
    subject_token_key: subjectToken.key,
    subject_token_jti: subjectToken.jti,
    subject_token_fingerprint: subjectToken.fingerprint,
    actor_subject: actor?.subject ?? '',
    actor_client_id: actor?.client_id ?? '',
    actor_token_jti: actor?.token?.jti ?? '',
    actor_token_fingerprint: actor?.token?.fingerprint ?? '',
    attributes,
    token_cnf_jkt: token?.cnf?.jkt ?? '',
    token_cnf_x5t: token?.cnf?.['x5t#S256'] ?? '',
    proof_scheme: proof?.scheme ?? '',
    proof_verdict: proof?.verdict ?? '',
    proof_failure: proof?.failure ?? '',
    proof_jti: proof?.jti_fingerprint ?? '',
    proof_iat: proof?.iat ?? null,
    proof_htm: proof?.htm ?? '',
    proof_htu: proof?.htu ?? '',
    proof_ath: proof?.ath ?? '',
    proof_alg: proof?.alg ?? '',
    proof_jkt: proof?.jkt ?? '',
    proof_cert_x5t: proof?.cert_thumbprint ?? '',
  }
}

function opt<T>(value: T | '' | null | undefined): T | undefined {
  return value === '' || value === null || value === undefined ? undefined : value
}

function compact<T extends Record<string, unknown>>(obj: T): T | undefined {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v
  return Object.keys(out).length > 0 ? (out as T) : undefined
}

/**
 * Every column of `events` (encodeEventRow writes them in ENCODED_COLUMNS order, these with
 * received_at first, see events-store.ts); a test holds this list, the encoded order and the
 * table's columns together.
 */
export const EVENT_COLUMNS = [
  'tenant',
  'event_id',
  'event_type',
  'schema_version',
  'occurred_at',
  'received_at',
  'source_kind',
  'source_id',
  'issuer',
  'client_id',
  'subject',
  'session_id',
  'token_key',
  'token_key_kind',
  'token_jti',
  'token_fingerprint',
  'token_iat',
  'token_exp',
  'token_aud',
  'token_aud_canonical',
  'token_scopes',
  'token_format',
  'network_ip',
  'network_user_agent',
  'grant_type',
  'requested_resources',
  'requested_resources_canonical',
  'requested_resources_drift',
  'requested_scopes',
  'granted_aud',
  'granted_aud_canonical',
  'granted_aud_drift',
  'granted_scopes',
  'resource',
  'resource_canonical',
  'resource_drift_key',
  'resource_valid',
  'presented_aud',
  'presented_aud_canonical',
  'presented_aud_drift',
  'aud_match',
  'aud_validated',
  'decision',
  'reason',
  'tool_method',
  'tool_name',
  'tool_header_method',
  'tool_header_name',
  'http_method',
  'http_path',
  'http_status',
  'subject_token_key',
  'subject_token_jti',
  'subject_token_fingerprint',
  'actor_subject',
  'actor_client_id',
  'actor_token_jti',
  'actor_token_fingerprint',
  'attributes',
  'token_cnf_jkt',
  'token_cnf_x5t',
  'proof_scheme',
  'proof_verdict',
  'proof_failure',
  'proof_jti',
  'proof_iat',
  'proof_htm',
  'proof_htu',
  'proof_ath',
  'proof_alg',
  'proof_jkt',
  'proof_cert_x5t',
] as const satisfies readonly (keyof EventRow)[]

/** Columns derived from an event that the API never shows (canonical forms, drift keys, ...). */
const NOT_SHOWN = [
  'schema_version',
  'token_key_kind',
  'token_aud_canonical',
  'requested_resources_canonical',
  'requested_resources_drift',
  'granted_aud_canonical',
  'granted_aud_drift',
  'resource_drift_key',
  'resource_valid',
  'presented_aud_canonical',
  'presented_aud_drift',
] as const satisfies readonly (keyof EventRow)[]

type StoredColumn = Exclude<(typeof EVENT_COLUMNS)[number], (typeof NOT_SHOWN)[number]>

/**
 * The columns the API reads back to show an event: the contract event's own values, plus the
 * token keys, canonical resource and `aud_match` it presents beside it. The queries that read
 * them (token-events.sql, events-search.sql) name exactly these columns: each column of each
 * part read costs the engine about as much as a row of it, and the derived columns left out
 * (canonical and drift arrays) are never shown.
 */
export const STORED_EVENT_COLUMNS: readonly StoredColumn[] = EVENT_COLUMNS.filter(
  (c): c is StoredColumn => !(NOT_SHOWN as readonly string[]).includes(c),
)

/** An event as the API reads it back (STORED_EVENT_COLUMNS). */
export type StoredEvent = Pick<EventRow, StoredColumn>

/**
 * The contract event a row was written from (what the API's timelines show). Derived columns
 * (canonical forms, token key, aud_match) are not part of the event and are left out.
 */
export function fromEventRow(row: StoredEvent): AuditEvent {
  const attributes: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row.attributes)) attributes[k] = JSON.parse(v)
  const hasToken = row.token_jti !== '' || row.token_fingerprint !== ''
  const common = compact({
    schema_version: 1 as const,
    event_id: row.event_id,
    occurred_at: fromDateTime64(row.occurred_at),
    tenant: row.tenant,
    source: { kind: row.source_kind, id: row.source_id },
    issuer: opt(row.issuer),
    client_id: opt(row.client_id),
    subject: opt(row.subject),
    session_id: opt(row.session_id),
    token: hasToken
      ? compact({
          fingerprint: opt(row.token_fingerprint),
          jti: opt(row.token_jti),
          iat: opt(row.token_iat),
          exp: opt(row.token_exp),
          aud: row.token_aud.length > 0 ? row.token_aud : undefined,
          scopes: row.token_scopes.length > 0 ? row.token_scopes : undefined,
          format: opt(row.token_format),
          cnf: compact({ jkt: opt(row.token_cnf_jkt), 'x5t#S256': opt(row.token_cnf_x5t) }),
        })
      : undefined,
    network: compact({ ip: opt(row.network_ip), user_agent: opt(row.network_user_agent) }),
    attributes: Object.keys(attributes).length > 0 ? attributes : undefined,
  })!
  const tokenRef = (jti: string, fingerprint: string) =>
    compact({ jti: opt(jti), fingerprint: opt(fingerprint) })

  switch (row.event_type) {
    case 'authorization.requested':
      return {
        ...common,
        event_type: row.event_type,
        requested_resources: row.requested_resources,
        requested_scopes: row.requested_scopes,
      } as AuditEvent
    case 'token.issued':
      return {
        ...common,
        event_type: row.event_type,
        grant_type: row.grant_type,
        requested_resources: row.requested_resources,
        granted_aud: row.granted_aud,
        requested_scopes: row.requested_scopes,
        granted_scopes: row.granted_scopes,
      } as AuditEvent
    case 'token.presented':
      return {
        ...common,
        event_type: row.event_type,
        resource: row.resource,
        presented_aud: row.presented_aud,
        aud_validated: row.aud_validated === true,
        decision: row.decision,
        reason: row.reason,
        ...compactField(
          'tool',
          compact({
            method: opt(row.tool_method),
            name: opt(row.tool_name),
            header_method: opt(row.tool_header_method),
            header_name: opt(row.tool_header_name),
          }),
        ),
        ...compactField(
          'http',
          row.http_method === ''
            ? undefined
            : compact({
                method: row.http_method,
                path: row.http_path,
                status: opt(row.http_status),
              }),
        ),
        ...compactField('proof', proofOf(row)),
      } as AuditEvent
    case 'token.exchanged':
      return {
        ...common,
        event_type: row.event_type,
        subject_token: tokenRef(row.subject_token_jti, row.subject_token_fingerprint) ?? {},
        requested_resources: row.requested_resources,
        granted_aud: row.granted_aud,
        ...compactField(
          'actor',
          compact({
            subject: opt(row.actor_subject),
            client_id: opt(row.actor_client_id),
            token: tokenRef(row.actor_token_jti, row.actor_token_fingerprint),
          }),
        ),
      } as AuditEvent
  }
}

/** The presentation's proof facts (absent from events written before contract v1 had them). */
function proofOf(row: StoredEvent) {
  if (row.proof_scheme === '') return undefined
  return compact({
    scheme: row.proof_scheme,
    verdict: row.proof_verdict,
    failure: opt(row.proof_failure),
    jti_fingerprint: opt(row.proof_jti),
    iat: opt(row.proof_iat),
    htm: opt(row.proof_htm),
    htu: opt(row.proof_htu),
    ath: opt(row.proof_ath),
    alg: opt(row.proof_alg),
    jkt: opt(row.proof_jkt),
    cert_thumbprint: opt(row.proof_cert_x5t),
  })
}

function compactField<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>)
}
