/** zod schemas of the audit event contract v1 (docs/spec/events.md): the one source of truth. */
import { z } from 'zod'

/** Size caps: an event is a small record; anything larger is hostile or broken input. */
export const LIMITS = {
  id: 256,
  uri: 2048,
  scope: 256,
  userAgent: 1024,
  path: 2048,
  listItems: 64,
  scopeItems: 256,
  attributes: 64,
  attributeKey: 128,
  attributesJson: 16_384,
} as const

// ASCII control characters (C0 and DEL) are never legitimate in identifiers and are a classic
// log-injection vector; they are refused everywhere rather than escaped later.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/

function text(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(NO_CONTROL, { message: 'must not contain control characters' })
}

function list(item: z.ZodString, max: number = LIMITS.listItems) {
  return z.array(item).max(max)
}

/** RFC 3339 UTC timestamp with exactly three fractional digits, e.g. `2026-11-22T10:00:00.000Z`. */
export const Timestamp = z.iso.datetime({ precision: 3 })
/** JWT NumericDate in whole seconds (RFC 7519 section 2), bounded to year 9999. */
export const NumericDate = z.number().int().min(0).max(253_402_300_799)
/** base64url SHA-256 or HMAC-SHA-256 digest without padding: 43 characters. */
export const Fingerprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/, {
  message: 'must be a base64url SHA-256 digest (43 characters)',
})
export const Tenant = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  message: 'must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit',
})

export const ResourceUri = text(LIMITS.uri)
export const Scope = text(LIMITS.scope)

export const EVENT_TYPES = [
  'authorization.requested',
  'token.issued',
  'token.presented',
  'token.exchanged',
] as const
export const SOURCE_KINDS = [
  'authorization_server',
  'resource_server',
  'mcp_server',
  'gateway',
] as const
export const DECISIONS = ['accepted', 'rejected'] as const
export const REASONS = [
  'ok',
  'aud_mismatch',
  'expired',
  'invalid_signature',
  'invalid_issuer',
  'insufficient_scope',
  'malformed',
  'missing_token',
  'other',
] as const
export const TOKEN_FORMATS = ['jwt', 'opaque'] as const

export type EventType = (typeof EVENT_TYPES)[number]
export type SourceKind = (typeof SOURCE_KINDS)[number]
export type Decision = (typeof DECISIONS)[number]
export type Reason = (typeof REASONS)[number]

export const Source = z.looseObject({
  kind: z.enum(SOURCE_KINDS),
  id: text(LIMITS.id),
})

/**
 * A JWK SHA-256 thumbprint (RFC 7638) or an X.509 certificate SHA-256 thumbprint (RFC 8705 3.1),
 * base64url without padding: 43 characters.
 */
export const Thumbprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/, {
  message: 'must be a base64url SHA-256 thumbprint (43 characters)',
})

/**
 * The token's confirmation (RFC 7800 `cnf`): the key it is bound to, as a DPoP JWK thumbprint
 * (RFC 9449 6.1 `jkt`) or a TLS client certificate thumbprint (RFC 8705 3.1 `x5t#S256`).
 */
export const Confirmation = z.looseObject({
  jkt: Thumbprint.optional(),
  'x5t#S256': Thumbprint.optional(),
})

export const Token = z.looseObject({
  fingerprint: Fingerprint.optional(),
  jti: text(LIMITS.id).optional(),
  iat: NumericDate.optional(),
  exp: NumericDate.optional(),
  aud: list(ResourceUri).optional(),
  scopes: list(Scope, LIMITS.scopeItems).optional(),
  format: z.enum(TOKEN_FORMATS).optional(),
  /** sender-constrained tokens only (DPoP, mTLS): absent for a bearer token */
  cnf: Confirmation.optional(),
})

/** A reference to another token (RFC 8693 subject or actor token): its key only, never the token. */
export const TokenRef = z.looseObject({
  fingerprint: Fingerprint.optional(),
  jti: text(LIMITS.id).optional(),
})

export const Network = z.looseObject({
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  user_agent: text(LIMITS.userAgent).optional(),
})

/** Unknown extra fields land here (see `parseEvent`); values are any JSON. */
export const Attributes = z.record(z.string().min(1).max(LIMITS.attributeKey), z.unknown())

const common = {
  schema_version: z.literal(1),
  event_id: z.uuid(),
  occurred_at: Timestamp,
  tenant: Tenant.default('default'),
  source: Source,
  issuer: ResourceUri.optional(),
  client_id: text(LIMITS.id).optional(),
  subject: text(LIMITS.id).optional(),
  session_id: text(LIMITS.id).optional(),
  network: Network.optional(),
  attributes: Attributes.optional(),
}

export const AuthorizationRequested = z.looseObject({
  ...common,
  event_type: z.literal('authorization.requested'),
  // No token exists yet at the authorization endpoint, so `token` is optional here.
  token: Token.optional(),
  requested_resources: list(z.string().max(LIMITS.uri).regex(NO_CONTROL)),
  requested_scopes: list(Scope, LIMITS.scopeItems),
})

export const TokenIssued = z.looseObject({
  ...common,
  event_type: z.literal('token.issued'),
  token: Token,
  grant_type: text(LIMITS.uri),
  requested_resources: list(z.string().max(LIMITS.uri).regex(NO_CONTROL)),
  granted_aud: list(ResourceUri),
  requested_scopes: list(Scope, LIMITS.scopeItems),
  granted_scopes: list(Scope, LIMITS.scopeItems),
})

export const Tool = z.looseObject({
  method: text(LIMITS.id).optional(),
  name: text(LIMITS.id).optional(),
  header_method: text(LIMITS.id).optional(),
  header_name: text(LIMITS.id).optional(),
})

export const Http = z.looseObject({
  method: z.string().regex(/^[A-Za-z]{1,16}$/, { message: 'must be an HTTP method token' }),
  path: text(LIMITS.path),
  status: z.number().int().min(100).max(599).optional(),
})

export const PROOF_SCHEMES = ['Bearer', 'DPoP'] as const
/**
 * What the collector concluded of the request's proof of possession:
 * `valid` a DPoP proof (RFC 9449 4.3) or TLS client certificate (RFC 8705 3) that checks out and
 * matches the token's `cnf`; `invalid` one that does not (see `failure`); `absent` no proof at all
 * (a bearer presentation, bound token or not); `unchecked` a proof the collector could not judge.
 */
export const PROOF_VERDICTS = ['valid', 'invalid', 'absent', 'unchecked'] as const
/** The DPoP `ath` claim against the presented token (RFC 9449 4.3 check 11). */
export const ATH_CHECKS = ['match', 'mismatch', 'missing'] as const

/**
 * Proof-of-possession facts of one presentation. Never the proof or the token: the proof's `jti`
 * is fingerprinted like a token (base64url SHA-256, or HMAC with the fingerprint key).
 */
export const Proof = z.looseObject({
  /** the `Authorization` scheme the token came with */
  scheme: z.enum(PROOF_SCHEMES),
  verdict: z.enum(PROOF_VERDICTS),
  /** why the proof failed, e.g. `htu_mismatch`, `jkt_mismatch`, `stale_iat` */
  failure: text(64).optional(),
  /** DPoP proof `jti`, fingerprinted */
  jti_fingerprint: Fingerprint.optional(),
  iat: NumericDate.optional(),
  htm: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/)
    .optional(),
  /** the proof's `htu` as the client wrote it, bounded */
  htu: text(LIMITS.uri).optional(),
  ath: z.enum(ATH_CHECKS).optional(),
  alg: text(32).optional(),
  /** RFC 7638 thumbprint of the proof's public key */
  jkt: Thumbprint.optional(),
  /** `x5t#S256` of the TLS client certificate the request came with (RFC 8705 3.1) */
  cert_thumbprint: Thumbprint.optional(),
})

export const TokenPresented = z.looseObject({
  ...common,
  event_type: z.literal('token.presented'),
  // Absent only when the request carried no token (reason `missing_token`): checked in parseEvent.
  token: Token.optional(),
  resource: ResourceUri,
  presented_aud: list(ResourceUri).default([]),
  aud_validated: z.boolean(),
  decision: z.enum(DECISIONS),
  reason: z.enum(REASONS),
  tool: Tool.optional(),
  http: Http.optional(),
  /** sender-constraining facts (contract v1, additive): absent from older events */
  proof: Proof.optional(),
})

/** RFC 8693 actor: who acts on behalf of the subject. */
export const Actor = z.looseObject({
  subject: text(LIMITS.id).optional(),
  client_id: text(LIMITS.id).optional(),
  token: TokenRef.optional(),
})

export const TokenExchanged = z.looseObject({
  ...common,
  event_type: z.literal('token.exchanged'),
  token: Token,
  subject_token: TokenRef,
  requested_resources: list(z.string().max(LIMITS.uri).regex(NO_CONTROL)),
  granted_aud: list(ResourceUri),
  actor: Actor.optional(),
})

export const AuditEventSchema = z.discriminatedUnion('event_type', [
  AuthorizationRequested,
  TokenIssued,
  TokenPresented,
  TokenExchanged,
])

export type AuthorizationRequestedEvent = z.output<typeof AuthorizationRequested>
export type TokenIssuedEvent = z.output<typeof TokenIssued>
export type TokenPresentedEvent = z.output<typeof TokenPresented>
export type TokenExchangedEvent = z.output<typeof TokenExchanged>
export type AuditEvent = z.output<typeof AuditEventSchema>
/** What a producer writes: `tenant` and `presented_aud` may be left to their defaults. */
export type AuditEventInput = z.input<typeof AuditEventSchema>
export type TokenInfo = z.output<typeof Token>
export type TokenRefInfo = z.output<typeof TokenRef>
export type ProofInfo = z.output<typeof Proof>
export type ConfirmationInfo = z.output<typeof Confirmation>
