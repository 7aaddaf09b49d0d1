/**
 * `audtrail/collectors/as`: build valid authorization.requested, token.issued and token.exchanged
 * events for any AS.
 *
 * What a client writes into a request never keeps it out of the audit trail and never makes a
 * builder throw. Every value a client can influence (resources, scopes, granted audiences, the
 * user agent, identifiers, the claims of a token it presents, attributes copied from a request)
 * is read defensively (a throwing getter is a value that could not be read), stripped of secrets
 * (the tokens given to the builder and `secrets`, also percent-encoded), of raw JWTs and lone
 * surrogates (clean.ts), its control characters percent-encoded, and bounded: a long value is cut
 * without splitting a surrogate pair and given a hash suffix, a too-long identifier is left out
 * (as the resource-server collectors do), a long list is capped and its length kept in
 * `attributes.<field>_count`. Each field changed is named in `attributes.sanitized`, each
 * identifier left out in `attributes.oversized_ids`. The event is then validated; one the
 * contract still refuses is reduced to what passes (reduce.ts, `attributes.reduced`). Only a
 * programming mistake of the AS throws: a missing or invalid `source`, `grantType`, `tenant`,
 * `issuer`, `eventId` or `occurredAt` (TypeError or EventValidationError), or a token reference
 * with neither a fingerprint nor a `jti`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { decodeJwt } from 'jose'
import { EventValidationError } from '../errors.js'
import { cleanText, cutAt } from '../events/clean.js'
import { fingerprintToken } from '../events/fingerprint.js'
import { parseEvent } from '../events/parse.js'
import { RAW_JWT_REMOVED } from '../events/raw-token.js'
import { reduceEvent } from '../events/reduce.js'
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
  /** from the request; an IP that is not a valid address is left out, a user agent is cleaned */
  network?: { ip?: string; userAgent?: string }
  attributes?: Record<string, unknown>
  /**
   * other credentials of the request (client secret, code, refresh token...): cut out of every
   * field they were copied into, never emitted (values shorter than 8 characters are ignored)
   */
  secrets?: readonly (string | undefined)[]
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

type Input = Record<string, unknown>

/** Builds an `authorization.requested` event (see the module comment for what is cleaned). */
export function authorizationRequested(
  input: AuthorizationRequestedInput,
): AuthorizationRequestedEvent {
  const i = inputObject(input, 'authorizationRequested')
  const s = new Sanitizer(secretsOf(i, []))
  const event = {
    ...common(i, s, 'authorizationRequested'),
    event_type: 'authorization.requested',
    requested_resources: s.list('requested_resources', s.read(i, 'requestedResources'), {
      max: LIMITS.uri,
      empty: 'keep',
    }),
    requested_scopes: s.scopes('requested_scopes', s.read(i, 'requestedScopes')),
  }
  return finish(event, s, s.read(i, 'attributes')) as AuthorizationRequestedEvent
}

/**
 * Builds a `token.issued` event. With `grantResources`, `attributes.grant_resources` and
 * `attributes.resource_within_grant` (every granted `aud` is one of them) let detection accept a
 * refresh that switches resource inside the original grant (RFC 8707 section 2.2); with
 * `previousAud`, `attributes.resource_switch` says whether this token's audience differs.
 */
export function tokenIssued(input: TokenIssuedInput): TokenIssuedEvent {
  const i = inputObject(input, 'tokenIssued')
  const grantType = strict(i, 'grantType', 'tokenIssued')
  if (typeof grantType !== 'string') throw new TypeError('tokenIssued: grantType is required')
  const accessToken = rawToken(i, 'accessToken', 'tokenIssued')
  const s = new Sanitizer(secretsOf(i, [accessToken]))
  const token = issuedToken(i, accessToken, s, 'tokenIssued')
  const grantedAud = s.listOf('granted_aud', s.read(i, 'grantedAud')) ?? token.rawAud ?? []
  const own: Input = {}
  const grant = s.listOf('grant_resources', s.read(i, 'grantResources'))
  if (grant !== undefined) {
    own.grant_resources = s.list('grant_resources', grant, { max: LIMITS.uri, empty: 'keep' })
    const granted = new Set(grant)
    own.resource_within_grant = grantedAud.every((a) => granted.has(a))
  }
  const grantedList = s.list('granted_aud', grantedAud, { max: LIMITS.uri })
  const previous = s.listOf('previous_aud', s.read(i, 'previousAud'))
  if (previous !== undefined) {
    // Compared as emitted: the previous audience may come from an earlier event (idempotent).
    own.previous_aud = s.list('previous_aud', previous, { max: LIMITS.uri })
    own.resource_switch = !sameSet(own.previous_aud as string[], grantedList)
  }
  const grantedScopes = s.read(i, 'grantedScopes')
  const event = {
    ...common(i, s, 'tokenIssued'),
    event_type: 'token.issued',
    token: token.info,
    grant_type: s.text('grant_type', grantType, { max: LIMITS.uri }),
    requested_resources: s.list('requested_resources', s.read(i, 'requestedResources'), {
      max: LIMITS.uri,
      empty: 'keep',
    }),
    granted_aud: grantedList,
    requested_scopes: s.scopes('requested_scopes', s.read(i, 'requestedScopes')),
    granted_scopes:
      grantedScopes === undefined || grantedScopes === null
        ? s.scopes('granted_scopes', token.rawScopes)
        : s.scopes('granted_scopes', grantedScopes),
  }
  return finish(event, s, s.read(i, 'attributes'), own) as TokenIssuedEvent
}

/** Builds a `token.exchanged` event (RFC 8693); the subject and actor tokens appear as references. */
export function tokenExchanged(input: TokenExchangedInput): TokenExchangedEvent {
  const i = inputObject(input, 'tokenExchanged')
  const accessToken = rawToken(i, 'accessToken', 'tokenExchanged')
  const subjectToken = rawToken(i, 'subjectToken', 'tokenExchanged')
  const key = strict(i, 'fingerprintKey', 'tokenExchanged') as string | Uint8Array | undefined
  const s = new Sanitizer(secretsOf(i, [accessToken, subjectToken]))
  const actor = s.read(i, 'actor')
  const actorToken = s.read(actor, 'token', 'actor.token')
  if (typeof actorToken === 'string') s.addSecret(actorToken)
  const token = issuedToken(i, accessToken, s, 'tokenExchanged')
  const subject =
    subjectToken !== undefined
      ? tokenRef(subjectToken, key, s, 'subject_token')
      : refInput(strict(i, 'subjectTokenRef', 'tokenExchanged'), s, 'subject_token')
  if (subject === undefined)
    throw new TypeError('tokenExchanged: subjectToken or subjectTokenRef is required')
  const granted = s.listOf('granted_aud', s.read(i, 'grantedAud')) ?? token.rawAud ?? []
  const event = {
    ...common(i, s, 'tokenExchanged'),
    event_type: 'token.exchanged',
    token: token.info,
    subject_token: subject,
    requested_resources: s.list('requested_resources', s.read(i, 'requestedResources'), {
      max: LIMITS.uri,
      empty: 'keep',
    }),
    granted_aud: s.list('granted_aud', granted, { max: LIMITS.uri }),
    ...(actor !== null &&
      typeof actor === 'object' && {
        actor: {
          subject: s.ident('actor.subject', s.read(actor, 'subject', 'actor.subject')),
          client_id: s.ident('actor.client_id', s.read(actor, 'clientId', 'actor.client_id')),
          token:
            typeof actorToken === 'string' && actorToken !== ''
              ? tokenRef(actorToken, key, s, 'actor.token')
              : s.drop('actor.token', actorToken),
        },
      }),
  }
  return finish(event, s, s.read(i, 'attributes')) as TokenExchangedEvent
}

function inputObject(input: unknown, fn: string): Input {
  if (input === null || typeof input !== 'object')
    throw new TypeError(`${fn}: input must be an object`)
  return input as Input
}

/** A value the AS itself supplies: a getter that throws is its programming mistake. */
function strict(i: Input, key: string, fn: string): unknown {
  try {
    return i[key]
  } catch {
    throw new TypeError(`${fn}: input.${key} could not be read`)
  }
}

function rawToken(i: Input, key: string, fn: string): string | undefined {
  const raw = strict(i, key, fn)
  if (raw !== undefined && (typeof raw !== 'string' || raw.length === 0))
    throw new TypeError(`${fn}: ${key} must be a non-empty string`)
  return raw
}

function secretsOf(i: Input, tokens: readonly (string | undefined)[]): string[] {
  const out = tokens.filter((t): t is string => typeof t === 'string' && t.length >= 8)
  let extra: unknown
  try {
    extra = i.secrets
    if (!Array.isArray(extra)) return out
    for (const v of extra.slice(0, 64)) if (typeof v === 'string' && v.length >= 8) out.push(v)
  } catch {
    // a list that cannot be read holds no secret we could look for
  }
  return out
}

/** The fields every event has: the AS's own (checked, a mistake throws) and the client's (cleaned). */
function common(i: Input, s: Sanitizer, fn: string): Input {
  const source = strict(i, 'source', fn)
  if (source === null || typeof source !== 'object')
    throw new TypeError(`${fn}: source is required`)
  const occurred = strict(i, 'occurredAt', fn) ?? new Date()
  if (occurred instanceof Date && Number.isNaN(occurred.getTime()))
    throw new TypeError(`${fn}: occurredAt is not a valid date`)
  const own = {
    schema_version: 1,
    event_id: strict(i, 'eventId', fn) ?? randomUUID(),
    occurred_at: occurred instanceof Date ? occurred.toISOString() : occurred,
    tenant: strict(i, 'tenant', fn) ?? 'default',
    source: {
      kind: strict(source as Input, 'kind', fn) ?? 'authorization_server',
      id: strict(source as Input, 'id', fn),
    },
    issuer: strict(i, 'issuer', fn),
  }
  // The AS's own fields are checked alone, so a mistake there is never reduced away.
  const check = parseEvent(
    dropUndefined({
      ...own,
      event_type: 'authorization.requested',
      requested_resources: [],
      requested_scopes: [],
    }),
  )
  if (!check.ok) throw new EventValidationError(check.reasons)

  const network = s.read(i, 'network')
  const ip = normalizeIp(s.read(network, 'ip', 'network.ip'))
  const ua = s.read(network, 'userAgent', 'user_agent')
  const userAgent =
    ua === undefined || ua === null || ua === ''
      ? undefined
      : s.text('user_agent', ua, { max: LIMITS.userAgent })
  return {
    ...own,
    client_id: s.ident('client_id', s.read(i, 'clientId')),
    subject: s.ident('subject', s.read(i, 'subject')),
    session_id: s.ident('session_id', s.read(i, 'sessionId')),
    ...((ip !== undefined || userAgent !== undefined) && {
      network: { ip, user_agent: userAgent },
    }),
  }
}

interface BuiltToken {
  info: Input
  /** the audience and scopes as given or decoded, before cleaning (for comparisons) */
  rawAud?: string[]
  rawScopes?: unknown
}

/** The `token` object: explicit fields over what the JWT says, plus the fingerprint. */
function issuedToken(i: Input, raw: string | undefined, s: Sanitizer, fn: string): BuiltToken {
  const claims = raw === undefined ? {} : decodeClaims(raw)
  const given = s.read(i, 'token')
  const pick = (k: string) => {
    const v = s.read(given, k, `token.${k}`)
    return v === undefined ? claims[k] : v
  }
  const jti = pick('jti')
  if (raw !== undefined && jti === raw)
    throw new TypeError(`${fn}: token.jti must not be the token itself (opaque tokens: omit jti)`)
  const format = pick('format') ?? (raw === undefined ? undefined : 'opaque')
  const aud = pick('aud')
  const rawAud = aud === undefined ? undefined : s.listOf('token.aud', aud)
  const scopes = pick('scopes')
  const fingerprint = s.read(given, 'fingerprint', 'token.fingerprint')
  return {
    info: {
      fingerprint:
        fingerprint ??
        (raw === undefined
          ? undefined
          : fingerprintToken(raw, strict(i, 'fingerprintKey', fn) as string | undefined)),
      format: format === 'jwt' || format === 'opaque' ? format : s.drop('token.format', format),
      jti: s.ident('token.jti', jti),
      iat: s.date('token.iat', pick('iat')),
      exp: s.date('token.exp', pick('exp')),
      aud: rawAud === undefined ? undefined : s.list('token.aud', rawAud, { max: LIMITS.uri }),
      scopes: scopes === undefined ? undefined : s.scopes('token.scopes', scopes),
    },
    rawAud,
    rawScopes: scopes,
  }
}

/** JWT claims as token fields; a JWE is a `jwt` whose claims cannot be read here. */
function decodeClaims(raw: string): Input {
  const parts = raw.split('.').length
  if (parts === 5) return { format: 'jwt' }
  if (parts !== 3) return {}
  let claims: Input
  try {
    claims = decodeJwt(raw)
  } catch {
    return {}
  }
  return {
    format: 'jwt',
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    aud: claims.aud,
    scopes: claims.scope ?? claims.scp,
  }
}

function tokenRef(
  raw: string,
  key: string | Uint8Array | undefined,
  s: Sanitizer,
  field: string,
): TokenRefInfo {
  const jti = s.ident(`${field}.jti`, decodeClaims(raw).jti)
  return { fingerprint: fingerprintToken(raw, key), ...(jti !== undefined && { jti }) }
}

function refInput(ref: unknown, s: Sanitizer, field: string): TokenRefInfo | undefined {
  if (ref === undefined || ref === null) return undefined
  const fingerprint = s.read(ref, 'fingerprint', `${field}.fingerprint`)
  const jti = s.ident(`${field}.jti`, s.read(ref, 'jti', `${field}.jti`))
  return dropUndefined({ fingerprint, jti }) as TokenRefInfo
}

/**
 * Attributes and marks in, then validated: an event the contract still refuses is reduced
 * (reduce.ts); only a token or token reference with no key is the AS's mistake and throws.
 */
function finish(event: Input, s: Sanitizer, given: unknown, own: Input = {}): unknown {
  const built = dropUndefined(event)
  const attributes = s.attributes(own, given)
  if (attributes !== undefined) built.attributes = attributes
  const parsed = parseEvent(built)
  if (parsed.ok) return parsed.event
  const mistakes = parsed.reasons.filter((r) => /^(token|subject_token): must carry/.test(r))
  if (mistakes.length > 0) throw new EventValidationError(mistakes)
  const reduced = reduceEvent(built)
  if (reduced.ok) return reduced.event
  throw new EventValidationError(reduced.reasons)
}

/** Drops `undefined` members of plain objects, recursively, so events stay minimal. */
function dropUndefined(value: Input): Input {
  const out: Input = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) ? dropUndefined(v as Input) : v
  }
  return out
}

/** Most items read from a list a client sent; the rest are only counted. */
const MAX_READ = 10_000

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a)
  const sb = new Set(b)
  return sa.size === sb.size && [...sa].every((v) => sb.has(v))
}

function normalizeIp(ip: unknown): string | undefined {
  if (typeof ip !== 'string' || ip.length > 64) return undefined
  const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
  return isIP(plain) === 0 ? undefined : plain
}

// eslint-disable-next-line no-control-regex -- control characters are what is escaped
const CONTROL = /[\u0000-\u001f\u007f]/g
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
/** Longest attribute string kept whole, deepest attribute value, most items of an attribute list. */
const ATTRIBUTE_TEXT = LIMITS.uri
const ATTRIBUTE_DEPTH = 8
const ATTRIBUTE_ITEMS = 64
/** Space a hash suffix takes: `...` and 16 base64url characters. */
const SUFFIX = 19

/** The event field an input member fills, as named in `attributes.sanitized`. */
const FIELDS: Record<string, string> = {
  requestedResources: 'requested_resources',
  requestedScopes: 'requested_scopes',
  grantedAud: 'granted_aud',
  grantedScopes: 'granted_scopes',
  grantResources: 'grant_resources',
  previousAud: 'previous_aud',
  clientId: 'client_id',
  sessionId: 'session_id',
}

/** `%XX` escapes decoded (enough to find a secret a client percent-encoded). */
function percentDecoded(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  )
}

/** Makes client-controlled values representable, recording which fields it had to change. */
class Sanitizer {
  readonly changed = new Set<string>()
  readonly oversized: string[] = []
  readonly counts: Record<string, number> = {}

  constructor(private readonly secrets: string[]) {}

  addSecret(secret: string): void {
    if (secret.length >= 8) this.secrets.push(secret)
  }

  mark(field: string): void {
    this.changed.add(field)
  }

  /** `obj[key]`, or undefined (and `field` marked) when the getter throws. */
  read(obj: unknown, key: string, field: string = FIELDS[key] ?? key): unknown {
    if (obj === null || typeof obj !== 'object') return undefined
    try {
      return (obj as Input)[key]
    } catch {
      this.mark(field)
      return undefined
    }
  }

  /** A value of a field that cannot hold it, left out and marked. */
  drop(field: string, value: unknown): undefined {
    if (value !== undefined && value !== null) this.mark(field)
    return undefined
  }

  /** `value` without any of the secrets; all of it replaced when one shows percent-decoded. */
  withoutSecrets(value: string): string {
    let out = value
    for (const secret of this.secrets)
      if (out.includes(secret)) out = out.split(secret).join(RAW_JWT_REMOVED)
    if (out.includes('%')) {
      const decoded = percentDecoded(out)
      if (this.secrets.some((secret) => decoded.includes(secret))) return RAW_JWT_REMOVED
    }
    return out
  }

  /**
   * Text for a field of at most `max` characters: secrets and raw JWTs cut, control characters
   * percent-encoded, lone surrogates replaced, a long value cut with a hash suffix. An empty value
   * is kept (`empty: 'keep'`, requested resources) or becomes `(empty)`.
   */
  text(field: string, value: unknown, o: { max: number; empty?: 'keep' }): string {
    let s = this.asString(field, value)
    const original = s
    if (s.length > 16 * o.max) s = cutAt(s, 16 * o.max)
    s = this.withoutSecrets(s)
    s = s.replace(CONTROL, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
    s = cleanText(s, 4 * o.max)
    if (s.length > o.max) {
      const digest = createHash('sha256').update(s).digest('base64url').slice(0, 16)
      // Cleaned again: the suffix's dots after a header-like run could spell a JWT.
      s = cleanText(`${cutAt(s, o.max - SUFFIX)}...${digest}`, o.max)
    }
    if (s === '' && o.empty !== 'keep') s = '(empty)'
    if (s !== original) this.mark(field)
    return s
  }

  /**
   * An identifier (client_id, subject, jti): left out when over the contract's bound (a cut one
   * could join two different clients or tokens, as rs/sanitize.ts `ident`), its name listed in
   * `oversized_ids`; else cleaned, control characters replaced.
   */
  ident(field: string, value: unknown): string | undefined {
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') return this.drop(field, value)
    let s = value
    if (s.length <= LIMITS.id) s = cleanText(this.withoutSecrets(s), LIMITS.id + 1)
    if (s.length > LIMITS.id) {
      this.oversized.push(field)
      this.mark(field)
      return undefined
    }
    if (s !== value) this.mark(field)
    return s === '' ? undefined : s
  }

  /** A NumericDate within the contract's range, else left out and marked. */
  date(field: string, value: unknown): number | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.drop(field, value)
    const n = Math.floor(value)
    return n >= 0 && n <= 253_402_300_799 ? n : this.drop(field, value)
  }

  /**
   * A list's items as plain strings (a string is one item, or split on `separator`); non-strings
   * become their JSON text and mark `field`, as does a list whose items cannot be read. Undefined
   * when absent.
   */
  listOf(field: string, value: unknown, separator?: string): string[] | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value === 'string')
      return separator === undefined ? [value] : value.split(separator).filter((v) => v !== '')
    const out: string[] = []
    try {
      if (!Array.isArray(value)) return [this.asString(field, value)]
      const n = value.length
      if (n > MAX_READ) this.counts[`${field}_count`] = n
      for (let k = 0; k < Math.min(n, MAX_READ); k++) out.push(this.asString(field, value[k]))
    } catch {
      this.mark(field)
    }
    return out
  }

  /** A list field: capped at the contract's bound, each item cleaned (`text`). */
  list(field: string, value: unknown, o: { max: number; empty?: 'keep' }): string[] {
    const all = this.listOf(field, value) ?? []
    this.cap(field, all.length, LIMITS.listItems)
    return all.slice(0, LIMITS.listItems).map((v) => this.text(field, v, o))
  }

  /** Scopes: a space-delimited string or a list, capped, each cleaned. */
  scopes(field: string, value: unknown): string[] {
    const all = this.listOf(field, value, ' ') ?? []
    this.cap(field, all.length, LIMITS.scopeItems)
    return all.slice(0, LIMITS.scopeItems).map((v) => this.text(field, v, { max: LIMITS.scope }))
  }

  private cap(field: string, length: number, max: number): void {
    if (length <= max) return
    this.mark(field)
    this.counts[`${field}_count`] ??= length
  }

  /** Text of a value that should have been a string (marked). */
  private asString(field: string, value: unknown): string {
    if (typeof value === 'string') return value
    this.mark(field)
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
      return String(value)
    try {
      return JSON.stringify(value) ?? `(${typeof value})`
    } catch {
      return `(${typeof value})`
    }
  }

  /**
   * The event's attributes: the marks first (a reduction that must drop some drops the last
   * ones), then the builder's own, then those given (cleaned), which win over the builder's own
   * but never over the marks.
   */
  attributes(own: Input, given: unknown): Input | undefined {
    const cleaned = this.attributeValue(given, 0, 'attributes', new WeakSet())
    const out: Input = { sanitized: undefined, oversized_ids: undefined, ...this.counts, ...own }
    if (cleaned !== null && typeof cleaned === 'object' && !Array.isArray(cleaned))
      Object.assign(out, cleaned)
    else if (cleaned !== undefined) this.mark('attributes')
    Object.assign(out, this.counts)
    out.oversized_ids = this.oversized.length > 0 ? [...new Set(this.oversized)] : undefined
    out.sanitized = this.changed.size > 0 ? [...this.changed].sort() : undefined
    const result = dropUndefined(out)
    return Object.keys(result).length > 0 ? result : undefined
  }

  /** A JSON value with every string and key cleaned; what JSON cannot hold is left out and marked. */
  private attributeValue(value: unknown, depth: number, field: string, seen: WeakSet<object>) {
    if (typeof value === 'string')
      return this.text(field, value, { max: ATTRIBUTE_TEXT, empty: 'keep' })
    if (typeof value === 'number') return Number.isFinite(value) ? value : this.drop(field, value)
    if (typeof value === 'boolean' || value === null) return value
    if (value === undefined) return undefined
    if (typeof value === 'bigint') return String(value)
    if (typeof value !== 'object' || depth >= ATTRIBUTE_DEPTH || seen.has(value))
      return this.drop(field, true)
    seen.add(value)
    try {
      if (value instanceof Date)
        return Number.isNaN(value.getTime()) ? this.drop(field, true) : value.toISOString()
      return Array.isArray(value)
        ? this.attributeList(value, depth, field, seen)
        : this.attributeObject(value, depth, field, seen)
    } catch {
      // a revoked Proxy, a throwing trap
      return this.drop(field, true)
    } finally {
      seen.delete(value)
    }
  }

  private attributeList(value: unknown[], depth: number, field: string, seen: WeakSet<object>) {
    const items: unknown[] = []
    const n = value.length
    if (n > ATTRIBUTE_ITEMS) this.mark(field)
    for (let k = 0; k < Math.min(n, ATTRIBUTE_ITEMS); k++) {
      const v = this.attributeValue(this.read(value, String(k), field), depth + 1, field, seen)
      items.push(v === undefined ? null : v)
    }
    return items
  }

  private attributeObject(value: object, depth: number, field: string, seen: WeakSet<object>) {
    const out: Input = {}
    const keys = Object.keys(value)
    for (const key of keys.slice(0, LIMITS.attributes)) {
      let k = cleanText(this.withoutSecrets(key), LIMITS.attributeKey)
      if (FORBIDDEN_KEYS.has(k)) k = `_${k}`
      if (k === '') k = '(empty)'
      const path = depth === 0 ? `attributes.${k}` : field
      if (k !== key) this.mark(path)
      const v = this.attributeValue(this.read(value, key, path), depth + 1, path, seen)
      if (v !== undefined) out[k] = v
    }
    if (keys.length > LIMITS.attributes) this.mark(field)
    return out
  }
}
