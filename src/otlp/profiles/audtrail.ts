/**
 * The `audtrail.*` attributes: what the conventions lack, set by a team on its spans or logs (in
 * code, in agentgateway's `fields.add`, or in a Collector `transform` processor), named after the
 * contract v1 fields they fill (docs/otlp.md lists them all). Any `audtrail.*` attribute of the
 * record itself is the match; `audtrail.tenant`, `audtrail.source.kind` and `audtrail.source.id`
 * may also be set on the resource, and are read there when the record does not set them.
 *
 * Values are OTLP strings, ints, bools, or arrays of strings; a list may also be one string of
 * space-separated items (as OAuth writes scopes). A value of the wrong type is not used, and the
 * event it leaves incomplete is refused by validation with the field named.
 */
import type { Attributes, OtlpRecord } from '../model.js'
import { bool, int, ipOf, set, str, strings, type Draft, type Profile } from './profile.js'

export const PREFIX = 'audtrail.'

/** Attributes read as strings: `audtrail.<name>` fills the event field `<path>`. */
const STRINGS: [string, string][] = [
  ['event_type', 'event_type'],
  ['event_id', 'event_id'],
  ['issuer', 'issuer'],
  ['client_id', 'client_id'],
  ['subject', 'subject'],
  ['session_id', 'session_id'],
  ['user_agent', 'network.user_agent'],
  ['token.jti', 'token.jti'],
  ['token.fingerprint', 'token.fingerprint'],
  ['token.format', 'token.format'],
  ['decision', 'decision'],
  ['reason', 'reason'],
  ['grant_type', 'grant_type'],
  ['subject_token.jti', 'subject_token.jti'],
  ['subject_token.fingerprint', 'subject_token.fingerprint'],
  ['actor.subject', 'actor.subject'],
  ['actor.client_id', 'actor.client_id'],
  ['tool.method', 'tool.method'],
  ['tool.name', 'tool.name'],
  // Contract v1 fields added with sender-constrained tokens and the collectors' own records:
  // without them an event shipped by the emitter's OTLP transport would lose them.
  ['tool.header_method', 'tool.header_method'],
  ['tool.header_name', 'tool.header_name'],
  ['token.cnf.jkt', 'token.cnf.jkt'],
  ['token.cnf.x5t#S256', 'token.cnf.x5t#S256'],
  ['actor.token.jti', 'actor.token.jti'],
  ['actor.token.fingerprint', 'actor.token.fingerprint'],
  ['http.method', 'http.method'],
  ['http.path', 'http.path'],
  ['proof.scheme', 'proof.scheme'],
  ['proof.verdict', 'proof.verdict'],
  ['proof.failure', 'proof.failure'],
  ['proof.jti_fingerprint', 'proof.jti_fingerprint'],
  ['proof.htm', 'proof.htm'],
  ['proof.htu', 'proof.htu'],
  ['proof.ath', 'proof.ath'],
  ['proof.alg', 'proof.alg'],
  ['proof.jkt', 'proof.jkt'],
  ['proof.cert_thumbprint', 'proof.cert_thumbprint'],
]
const INTS: [string, string][] = [
  ['token.iat', 'token.iat'],
  ['token.exp', 'token.exp'],
  ['http.status', 'http.status'],
  ['proof.iat', 'proof.iat'],
]
const LISTS: [string, string][] = [
  ['token.aud', 'token.aud'],
  ['token.scopes', 'token.scopes'],
  ['presented_aud', 'presented_aud'],
  ['granted_aud', 'granted_aud'],
  ['requested_resources', 'requested_resources'],
  ['requested_scopes', 'requested_scopes'],
  ['granted_scopes', 'granted_scopes'],
]

/** Every attribute name of the namespace (without the prefix), for the docs and their test. */
export const AUDTRAIL_ATTRIBUTES = [
  'tenant',
  'source.kind',
  'source.id',
  'resource',
  'ip',
  'aud_validated',
  'attributes',
  ...STRINGS.map(([k]) => k),
  ...INTS.map(([k]) => k),
  ...LISTS.map(([k]) => k),
].sort()

const own = (attrs: Attributes, name: string) => attrs.get(PREFIX + name)

function read(attrs: Attributes, draft: Draft): void {
  for (const [name, path] of STRINGS) set(draft, path, str(attrs, PREFIX + name))
  for (const [name, path] of INTS) set(draft, path, int(attrs, PREFIX + name))
  for (const [name, path] of LISTS) set(draft, path, strings(attrs, PREFIX + name))
  set(draft, 'aud_validated', bool(attrs, `${PREFIX}aud_validated`))
  set(draft, 'network.ip', ipOf(str(attrs, `${PREFIX}ip`)))
  set(draft, 'attributes', jsonObject(str(attrs, `${PREFIX}attributes`)))
  // The requested resource (RFC 8707): `resource` of a presentation, the one requested resource
  // of the other events unless `requested_resources` lists them.
  const resource = str(attrs, `${PREFIX}resource`)
  if (resource !== undefined) {
    set(draft, 'resource', resource)
    if (own(attrs, 'requested_resources') === undefined)
      set(draft, 'requested_resources', [resource])
  }
}

/** The event's own `attributes`: a JSON object written as one string (any other value: unused). */
function jsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>
  } catch {
    // not JSON: the attribute is not used
  }
  return undefined
}

export const audtrail: Profile = {
  id: 'audtrail',
  follows: 'the audtrail.* attributes of docs/otlp.md (contract v1 field names)',
  matches(record: OtlpRecord) {
    for (const key of record.attributes.keys()) if (key.startsWith(PREFIX)) return true
    return false
  },
  apply(record, draft) {
    const r = record.resource
    const a = record.attributes
    for (const name of ['source.kind', 'source.id'])
      set(draft, name, str(a, PREFIX + name) ?? str(r, PREFIX + name))
    read(a, draft)
    draft.event_type ??= 'token.presented'
    // `requested_resources` is a list of the other event types only.
    if (draft.event_type === 'token.presented') delete draft.requested_resources
    else delete draft.resource
  },
}

/** The tenant a record names (`audtrail.tenant` of the record, else of its resource). */
export function tenantOf(record: OtlpRecord): string | undefined {
  return str(record.attributes, `${PREFIX}tenant`) ?? str(record.resource, `${PREFIX}tenant`)
}
