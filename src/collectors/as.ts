/** `audtrail/collectors/as`: build valid authorization.requested, token.issued and token.exchanged events for any AS. */
import { createHash, randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { decodeJwt } from 'jose'
import { fingerprintToken } from '../events/fingerprint.js'
import { assertEvent } from '../events/parse.js'
import {
  LIMITS,
  type AuthorizationRequestedEvent,
  type SourceKind,
  type TokenExchangedEvent,
  type TokenInfo,
  type TokenIssuedEvent,
  type TokenRefInfo,
} from '../events/schema.js'

/** A raw request parameter: one value, repeated values, or absent. */
export type RawValues = string | readonly string[] | undefined

export interface CommonInput {
  /** this AS; `kind` defaults to `authorization_server` */
  source: { id: string; kind?: SourceKind }
  /** default `default` */
  tenant?: string
  issuer?: string
  clientId?: string
  subject?: string
  sessionId?: string
  /** from the request; an IP that is not a valid address is left out, a user agent is capped */
  network?: { ip?: string; userAgent?: string }
  attributes?: Record<string, unknown>
  /** default: a new random UUID */
  eventId?: string
  /** default: now */
  occurredAt?: Date | string
}

export interface AuthorizationRequestedInput extends CommonInput {
  /** the `resource` parameter(s) exactly as received (RFC 8707: repeated, not space-delimited) */
  requestedResources?: RawValues
  /** the `scope` parameter as received (space-delimited) or a list */
  requestedScopes?: RawValues
}

export interface IssuedTokenInput {
  /** the raw access token: fingerprinted and, when a JWT, decoded (not verified); never emitted */
  accessToken?: string
  /** HMAC key shared by AS and RS collectors (`fingerprintToken`) */
  fingerprintKey?: string | Uint8Array
  /** explicit token fields; they win over what is decoded from `accessToken` */
  token?: Partial<TokenInfo>
  /** default: the token's `aud` */
  grantedAud?: RawValues
}

export interface TokenIssuedInput extends CommonInput, IssuedTokenInput {
  grantType: string
  requestedResources?: RawValues
  requestedScopes?: RawValues
  /** default: the token's `scope` claim */
  grantedScopes?: RawValues
  /** resources of the original grant (authorization_code, refresh_token; RFC 8707 section 2.2) */
  grantResources?: RawValues
  /** `aud` of the previous access token of the same grant, when known: marks a resource switch */
  previousAud?: readonly string[]
}

export interface TokenExchangedInput extends CommonInput, IssuedTokenInput {
  /** the raw subject token (RFC 8693): fingerprinted and, when a JWT, its `jti` decoded */
  subjectToken?: string
  /** or its reference, when the raw subject token is not at hand */
  subjectTokenRef?: TokenRefInfo
  actor?: { subject?: string; clientId?: string; token?: string }
  requestedResources?: RawValues
}

/**
 * Builds an `authorization.requested` event. The builders are for the AS's own code, not a hot
 * path: a programming mistake (a missing `source`, a malformed `issuer`) throws `TypeError` or
 * `EventValidationError`. Values a client controls (resources, scopes, user agent) are never a
 * reason to throw: control characters are percent-encoded, over-long values are cut with a hash
 * suffix, lists are capped, and each such field is named in `attributes.sanitized`.
 */
export function authorizationRequested(
  input: AuthorizationRequestedInput,
): AuthorizationRequestedEvent {
  const s = new Sanitizer()
  return assertEvent(
    clean({
      ...common(input, s),
      event_type: 'authorization.requested',
      requested_resources: s.list('requested_resources', input.requestedResources, LIMITS.uri),
      requested_scopes: s.scopes('requested_scopes', input.requestedScopes),
      ...s.attributes(input.attributes),
    }),
  ) as AuthorizationRequestedEvent
}

/**
 * Builds a `token.issued` event. With `grantResources`, `attributes.grant_resources` and
 * `attributes.resource_within_grant` (every granted `aud` is one of them) let detection accept a
 * refresh that switches resource inside the original grant (RFC 8707 section 2.2); with
 * `previousAud`, `attributes.resource_switch` says whether this token's audience differs.
 */
export function tokenIssued(input: TokenIssuedInput): TokenIssuedEvent {
  if (typeof input?.grantType !== 'string')
    throw new TypeError('tokenIssued: grantType is required')
  const s = new Sanitizer()
  const token = issuedToken(input, 'tokenIssued')
  const grantedAud = toList(input.grantedAud) ?? token.aud ?? []
  const extra: Record<string, unknown> = {}
  const grant = toList(input.grantResources)
  if (grant !== undefined) {
    extra.grant_resources = s.list('grant_resources', grant, LIMITS.uri)
    extra.resource_within_grant = grantedAud.every((a) => grant.includes(a))
  }
  if (input.previousAud !== undefined) {
    extra.previous_aud = [...input.previousAud]
    extra.resource_switch = !sameSet(input.previousAud, grantedAud)
  }
  const event = {
    ...common(input, s),
    event_type: 'token.issued',
    token,
    grant_type: input.grantType,
    requested_resources: s.list('requested_resources', input.requestedResources, LIMITS.uri),
    granted_aud: grantedAud,
    requested_scopes: s.scopes('requested_scopes', input.requestedScopes),
    granted_scopes: toList(input.grantedScopes, ' ') ?? token.scopes ?? [],
    ...s.attributes({ ...extra, ...input.attributes }),
  }
  return guard(assertEvent(clean(event)), [input.accessToken]) as TokenIssuedEvent
}

/** Builds a `token.exchanged` event (RFC 8693); the subject and actor tokens appear as references. */
export function tokenExchanged(input: TokenExchangedInput): TokenExchangedEvent {
  const s = new Sanitizer()
  const token = issuedToken(input, 'tokenExchanged')
  const subject =
    input.subjectToken !== undefined
      ? tokenRef(input.subjectToken, input.fingerprintKey)
      : input.subjectTokenRef
  if (subject === undefined)
    throw new TypeError('tokenExchanged: subjectToken or subjectTokenRef is required')
  const { actor } = input
  const event = {
    ...common(input, s),
    event_type: 'token.exchanged',
    token,
    subject_token: subject,
    requested_resources: s.list('requested_resources', input.requestedResources, LIMITS.uri),
    granted_aud: toList(input.grantedAud) ?? token.aud ?? [],
    ...(actor && {
      actor: {
        subject: actor.subject,
        client_id: actor.clientId,
        token: actor.token === undefined ? undefined : tokenRef(actor.token, input.fingerprintKey),
      },
    }),
    ...s.attributes(input.attributes),
  }
  return guard(assertEvent(clean(event)), [
    input.accessToken,
    input.subjectToken,
    actor?.token,
  ]) as TokenExchangedEvent
}

function common(input: CommonInput, s: Sanitizer): Record<string, unknown> {
  if (input === null || typeof input !== 'object') throw new TypeError('input must be an object')
  const occurred = input.occurredAt ?? new Date()
  const ip = normalizeIp(input.network?.ip)
  const ua = input.network?.userAgent
  const userAgent =
    ua === undefined || ua === '' ? undefined : s.text('user_agent', ua, LIMITS.userAgent)
  return {
    schema_version: 1,
    event_id: input.eventId ?? randomUUID(),
    occurred_at: occurred instanceof Date ? occurred.toISOString() : occurred,
    tenant: input.tenant ?? 'default',
    source: { kind: input.source?.kind ?? 'authorization_server', id: input.source?.id },
    issuer: input.issuer,
    client_id: input.clientId,
    subject: input.subject,
    session_id: input.sessionId,
    ...((ip !== undefined || userAgent !== undefined) && {
      network: { ip, user_agent: userAgent },
    }),
  }
}

/** The `token` object: explicit fields over what the JWT says, plus the fingerprint. */
function issuedToken(input: IssuedTokenInput, fn: string): TokenInfo {
  const raw = input.accessToken
  if (raw !== undefined && (typeof raw !== 'string' || raw.length === 0))
    throw new TypeError(`${fn}: accessToken must be a non-empty string`)
  const claims = raw === undefined ? {} : decodeClaims(raw)
  const token: TokenInfo = {
    ...claims,
    ...(raw !== undefined && { fingerprint: fingerprintToken(raw, input.fingerprintKey) }),
    ...(raw !== undefined && { format: claims.format ?? 'opaque' }),
    ...input.token,
  }
  if (raw !== undefined && token.jti === raw)
    throw new TypeError(`${fn}: token.jti must not be the token itself (opaque tokens: omit jti)`)
  return token
}

/** JWT claims as token fields; a JWE is a `jwt` whose claims cannot be read here. */
function decodeClaims(raw: string): Partial<TokenInfo> {
  const parts = raw.split('.').length
  if (parts === 5) return { format: 'jwt' }
  if (parts !== 3) return {}
  let claims: Record<string, unknown>
  try {
    claims = decodeJwt(raw)
  } catch {
    return {}
  }
  const time = (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : undefined
  const scope = claims.scope ?? claims.scp
  return {
    format: 'jwt',
    jti: typeof claims.jti === 'string' ? claims.jti : undefined,
    iat: time(claims.iat),
    exp: time(claims.exp),
    aud: toList(claims.aud as RawValues),
    scopes: toList(scope as RawValues, ' '),
  }
}

function tokenRef(raw: string, key?: string | Uint8Array): TokenRefInfo {
  const { jti } = decodeClaims(raw)
  return { fingerprint: fingerprintToken(raw, key), ...(jti !== undefined && { jti }) }
}

/** Refuses an event that carries a raw token anywhere (a token passed as an attribute, say). */
function guard<T>(event: T, secrets: readonly (string | undefined)[]): T {
  const json = JSON.stringify(event)
  for (const secret of secrets)
    if (secret !== undefined && secret.length >= 8 && json.includes(secret))
      throw new TypeError('a raw token would be emitted: remove it from the input')
  return event
}

/** Drops `undefined` members of plain objects, recursively, so events stay minimal. */
function clean<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = clean(v)
  return out as T
}

function toList(value: unknown, separator?: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string')
    return separator === undefined ? [value] : value.split(separator).filter((v) => v !== '')
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
  return [JSON.stringify(value)]
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a)
  const sb = new Set(b)
  return sa.size === sb.size && [...sa].every((v) => sb.has(v))
}

function normalizeIp(ip: string | undefined): string | undefined {
  if (typeof ip !== 'string') return undefined
  const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
  return isIP(plain) === 0 ? undefined : plain
}

// eslint-disable-next-line no-control-regex -- control characters are what is escaped
const CONTROL = /[\u0000-\u001f\u007f]/g

/** Makes client-controlled values representable, recording which fields it had to change. */
class Sanitizer {
  readonly changed = new Set<string>()
  readonly counts: Record<string, number> = {}

  text(field: string, value: string, max: number): string {
    let out = value.replace(
      CONTROL,
      (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
    )
    if (out.length > max) {
      const digest = createHash('sha256').update(value).digest('base64url').slice(0, 16)
      out = `${out.slice(0, max - 19)}...${digest}`
    }
    if (out !== value || value === '') this.changed.add(field)
    return out === '' ? '(empty)' : out
  }

  list(field: string, values: unknown, max: number): string[] {
    const all = toList(values) ?? []
    if (all.length > LIMITS.listItems) {
      this.changed.add(field)
      this.counts[`${field}_count`] = all.length
    }
    return all.slice(0, LIMITS.listItems).map((v) => (v === '' ? v : this.text(field, v, max)))
  }

  scopes(field: string, values: unknown): string[] {
    const all = toList(values, ' ') ?? []
    if (all.length > LIMITS.scopeItems) {
      this.changed.add(field)
      this.counts[`${field}_count`] = all.length
    }
    return all.slice(0, LIMITS.scopeItems).map((v) => this.text(field, v, LIMITS.scope))
  }

  attributes(extra: Record<string, unknown> | undefined): { attributes?: Record<string, unknown> } {
    const out: Record<string, unknown> = { ...extra, ...this.counts }
    if (this.changed.size > 0) out.sanitized = [...this.changed].sort()
    return Object.keys(out).length > 0 ? { attributes: out } : {}
  }
}
