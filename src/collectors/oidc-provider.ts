/** `audtrail/collectors/oidc-provider`: authorization.requested and token.issued from node-oidc-provider. */
import { decodeJwt } from 'jose'
import { pino, type Logger } from 'pino'
import { Source, Tenant, type AuditEvent } from '../events/schema.js'
import { authorizationRequested, tokenExchanged, tokenIssued, type RawValues } from './as.js'
import { redactTokens } from './emitter/stats.js'
import type { Emitter } from './types.js'

/** What the collector uses of an oidc-provider (v9) `Provider`, itself a Koa application. */
export interface OidcProviderLike {
  readonly issuer: string
  // Koa's context is untyped here on purpose: every field is read defensively.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  use(middleware: (ctx: any, next: () => Promise<unknown>) => Promise<unknown>): unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off?(event: string, listener: (...args: any[]) => void): unknown
}

export interface OidcProviderCollectorOptions {
  emitter: Pick<Emitter, 'emit'>
  /** `source.id` of the events; default: the provider's issuer */
  source?: { id: string }
  tenant?: string
  /** HMAC key for fingerprints, shared with the resource-server collectors */
  fingerprintKey?: string | Uint8Array
  /** pino logger for the collector's own failures; default silent */
  logger?: Logger
  /** grants remembered to mark refresh resource switches (default 10 000; 0 turns it off) */
  maxTrackedGrants?: number
}

/** Each event emitted counts in one of the first four; `rejected` and `reduced` count across them. */
export interface OidcProviderStats {
  /** requests at the authorization, PAR, device and CIBA endpoints, refused ones too */
  authorizations: number
  /** token.issued events */
  tokens: number
  /** token.exchanged events */
  exchanges: number
  /** token requests answered without an access token (failed grants), as authorization.requested */
  failedGrants: number
  /** of the events emitted, those of a request the provider refused (at any endpoint) */
  rejected: number
  /** of the events emitted, those reduced: marked `attributes.reduced` */
  reduced: number
  /** requests that could not be recorded at all (logged, never with a token) */
  errors: number
}

export interface OidcProviderCollector {
  /** Stops collecting: removes the listeners; the middleware stays in the stack, doing nothing. */
  detach(): void
  stats(): OidcProviderStats
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** Routes that take an authorization request (its `resource` and `scope`). */
const AUTHORIZATION_ROUTES = new Set([
  'authorization',
  'pushed_authorization_request',
  'device_authorization',
  'backchannel_authentication',
])
/** Routes where the client authenticates: a refused request says whether it did. */
const AUTHENTICATED_ROUTES = new Set(['token', 'pushed_authorization_request'])
/**
 * Request parameters that are credentials, by grant: cut from any field a client copies them
 * into, but only once the provider has accepted the grant (so they are real credentials, not
 * values a client chose to erase its own fields with: `assertion=<my client_id>` would otherwise
 * blank `client_id` wherever it appears). Raw JWTs are cut whatever the outcome (clean.ts).
 */
const GRANT_SECRETS: Readonly<Record<string, readonly string[]>> = {
  authorization_code: ['code'],
  refresh_token: ['refresh_token'],
  'urn:ietf:params:oauth:grant-type:token-exchange': ['subject_token', 'actor_token'],
  'urn:ietf:params:oauth:grant-type:device_code': ['device_code'],
  'urn:openid:params:grant-type:ciba': ['auth_req_id'],
}
/** Shorter values are never treated as secrets: no credential the provider issues is this short. */
const MIN_SECRET = 16
const PAR_URI = 'urn:ietf:params:oauth:request_uri:'
/** Credentials of a token response. */
const SECRET_RESPONSE = ['access_token', 'refresh_token', 'id_token']

type Outcome = { outcome: string; error?: string; error_description?: string }
type Ctx = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
type Counter = 'authorizations' | 'tokens' | 'exchanges' | 'failedGrants'
type Built = { event: AuditEvent; counter: Counter; rejected: boolean }

/**
 * Hooks a Koa middleware in front of the provider's router and records one event per request at
 * the authorization-like endpoints and the token endpoint, read after the provider has answered
 * (and when its handler threw):
 *
 * - authorization, PAR, device and CIBA requests: `authorization.requested` with the raw
 *   `resource` and `scope` parameters as the client sent them (query, form body, or the signed
 *   request object) and the outcome from the provider's events. A request naming a `request_uri`
 *   from PAR was recorded when it was pushed; one the provider refuses (a bogus, expired or used
 *   `request_uri`) is recorded here. An unknown client's request is recorded with the `client_id`
 *   it claimed and `client_known: false`.
 * - a token response with an access token: `token.issued` (or `token.exchanged` for RFC 8693),
 *   the access token fingerprinted (never emitted; decoded when a JWT) with the `AccessToken` /
 *   `ClientCredentials` entity. Opaque tokens get no `jti`: an opaque token's `jti` is the token.
 * - any other token response (a failed grant: `invalid_client`, `invalid_grant`,
 *   `invalid_target`, ...): `authorization.requested` with `attributes.endpoint: 'token'`,
 *   `outcome: 'rejected'`, the OAuth `error` (and `error_description`), the `grant_type`, the HTTP
 *   `status`, `client_authenticated` and the requested resources and scopes, so that a client
 *   probing audiences leaves a trace. `client_id` is the one the client claimed (form, Basic
 *   header or client assertion); `client_authenticated: false` says the AS did not verify it.
 *
 * Every value a client controls is cleaned by the builders (as.ts), and the credentials of the
 * request (client secret, code, refresh, subject and actor tokens, the issued tokens) are cut
 * from any field they were copied into. Nothing here throws into the provider or awaits
 * anything: an event the builders cannot make is emitted reduced to the provider's own facts
 * (`attributes.reduced`), and one that cannot be made at all is logged (never with a token) and
 * counted in `stats().errors`.
 */
export function attachOidcProvider(
  provider: OidcProviderLike,
  options: OidcProviderCollectorOptions,
): OidcProviderCollector {
  if (typeof provider?.use !== 'function' || typeof provider.on !== 'function')
    throw new TypeError('attachOidcProvider: provider must be an oidc-provider Provider')
  if (typeof options?.emitter?.emit !== 'function')
    throw new TypeError('attachOidcProvider: options.emitter is required')
  const { emitter, tenant, fingerprintKey } = options
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'audtrail-oidc' })
  const source = {
    id: options.source?.id ?? provider.issuer,
    kind: 'authorization_server' as const,
  }
  if (!Source.shape.id.safeParse(source.id).success)
    throw new TypeError('attachOidcProvider: source.id must be 1 to 256 characters, no controls')
  if (tenant !== undefined && !Tenant.safeParse(tenant).success)
    throw new TypeError('attachOidcProvider: tenant is not a valid tenant name')
  const grants = new GrantMemory(options.maxTrackedGrants ?? 10_000)
  const outcomes = new WeakMap<object, Outcome>()
  const counts: OidcProviderStats = {
    authorizations: 0,
    tokens: 0,
    exchanges: 0,
    failedGrants: 0,
    rejected: 0,
    reduced: 0,
    errors: 0,
  }
  let detached = false

  const refused = (ctx: Ctx, err?: Record<string, unknown>) => outcomes.set(ctx, rejected(err))
  const listeners: [string, (ctx: Ctx, err?: Record<string, unknown>) => void][] = [
    ['authorization.accepted', (ctx) => outcomes.set(ctx, { outcome: 'accepted' })],
    ['interaction.started', (ctx) => outcomes.set(ctx, { outcome: 'interaction_required' })],
    ['pushed_authorization_request.success', (ctx) => outcomes.set(ctx, { outcome: 'pushed' })],
    ['authorization.error', refused],
    ['pushed_authorization_request.error', refused],
    ['device_authorization.error', refused],
    ['backchannel_authentication.error', refused],
    ['grant.error', refused],
    ['server_error', (ctx) => outcomes.set(ctx, { outcome: 'rejected', error: 'server_error' })],
  ]
  const attached = listeners.map(([name, fn]) => [name, guarded(fn)] as const)
  for (const [name, fn] of attached) provider.on(name, fn)

  provider.use(async (ctx: Ctx, next) => {
    try {
      await next()
    } catch (err) {
      observe(ctx, err)
      throw err
    }
    observe(ctx)
  })

  function guarded<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        if (!detached) fn(...args)
      } catch {
        counts.errors += 1
      }
    }
  }

  /** Records the request `ctx` answered (or threw `thrown` for): one event, or a count. */
  function observe(ctx: Ctx, thrown?: unknown): void {
    if (detached) return
    let route: unknown
    try {
      route = ctx.oidc?.route
    } catch {
      return
    }
    if (typeof route !== 'string') return
    const isToken = route === 'token'
    if (!isToken && !AUTHORIZATION_ROUTES.has(route)) return
    let built: Built | undefined
    try {
      built = isToken ? onToken(ctx, thrown) : onAuthorization(ctx, route, thrown)
    } catch (err) {
      log.warn({ err: describe(err), route }, 'audit event built reduced to the provider facts')
      built = reducedEvent(ctx, route, thrown)
    }
    if (built === undefined) return
    try {
      emitter.emit(built.event)
    } catch (err) {
      counts.errors += 1
      log.warn({ err: describe(err), route }, 'audit event not emitted')
      return
    }
    counts[built.counter] += 1
    if (built.rejected) counts.rejected += 1
    if (built.event.attributes?.reduced !== undefined) counts.reduced += 1
  }

  function onAuthorization(ctx: Ctx, route: string, thrown: unknown): Built | undefined {
    const { oidc } = ctx
    const raw = record(ctx.method === 'POST' ? oidc.body : ctx.query)
    const outcome = outcomes.get(ctx) ?? answered(ctx, thrown, route !== 'authorization')
    const refusedNow = outcome?.outcome === 'rejected'
    // A request_uri from PAR was recorded when it was pushed; one refused is recorded here.
    // Only a pushed request's URI counts (an empty or other one is ignored by the provider or
    // names a request object fetched from elsewhere: recorded here).
    const pushed = typeof raw.request_uri === 'string' && raw.request_uri.startsWith(PAR_URI)
    if (route === 'authorization' && pushed && !refusedNow) return
    let { resource, scope } = raw
    const attributes: Record<string, unknown> = { endpoint: route, ...outcome }
    if (raw.request_uri !== undefined && raw.request_uri !== '') {
      // The pushed request's parameters when the provider loaded them, else those sent with it.
      attributes.request_uri = true
      const params = record(oidc.params)
      resource = params.resource ?? resource
      scope = params.scope ?? scope
    } else if (typeof raw.request === 'string') {
      const claims = requestObject(raw.request)
      attributes.request_object = claims === undefined ? 'encrypted' : 'signed'
      ;({ resource, scope } = claims ?? record(oidc.params))
    }
    const known = oidc.client?.clientId
    if (AUTHENTICATED_ROUTES.has(route) && refusedNow)
      attributes.client_authenticated = known !== undefined && outcome?.error !== 'invalid_client'
    else if (known === undefined) attributes.client_known = false
    if (refusedNow) attributes.status = thrown === undefined ? ctx.status : statusOf(thrown)
    const event = authorizationRequested({
      ...common(ctx, raw, thrown),
      requestedResources: resource as RawValues,
      requestedScopes: scope as RawValues,
      attributes,
    })
    return { event, counter: 'authorizations', rejected: refusedNow }
  }

  function onToken(ctx: Ctx, thrown: unknown): Built {
    const body = thrown === undefined ? record(ctx.body) : {}
    const accessToken = body.access_token
    const raw = record(ctx.oidc.body)
    if (ctx.status !== 200 || typeof accessToken !== 'string' || accessToken === '')
      return refusedToken(ctx, raw, thrown)
    const { oidc } = ctx
    const grantType = String(oidc.params?.grant_type)
    const entity = oidc.entities?.AccessToken ?? oidc.entities?.ClientCredentials
    const format = entity?.format ?? (accessToken.split('.').length === 3 ? 'jwt' : 'opaque')
    const now = Math.floor(Date.now() / 1000)
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined
    const grantedScopes = typeof entity?.scope === 'string' ? entity.scope : body.scope
    // A JWT's claims are decoded from the token itself. An opaque token's come from its entity,
    // which has no iat: the response's expires_in gives the lifetime (to the second).
    const token =
      format === 'jwt'
        ? { format }
        : {
            format,
            iat: now,
            ...(expiresIn !== undefined && { exp: now + expiresIn }),
            aud: list(entity?.aud) ?? [],
            scopes:
              typeof grantedScopes === 'string' ? grantedScopes.split(' ').filter(Boolean) : [],
          }
    const jwtSub = format === 'jwt' ? decodeSub(accessToken) : undefined
    const base = {
      ...common(ctx, raw, thrown),
      subject:
        jwtSub ??
        entity?.accountId ??
        (entity?.kind === 'ClientCredentials' ? oidc.client?.clientId : undefined),
      sessionId: typeof entity?.sid === 'string' ? entity.sid : undefined,
      accessToken,
      fingerprintKey,
      token,
      requestedResources: raw.resource as RawValues,
    }
    if (grantType === TOKEN_EXCHANGE && typeof raw.subject_token === 'string') {
      const event = tokenExchanged({
        ...base,
        subjectToken: raw.subject_token,
        attributes: { grant_type: grantType },
      })
      return { event, counter: 'exchanges', rejected: false }
    }
    const source = oidc.entities?.AuthorizationCode ?? oidc.entities?.RefreshToken
    const grantId = typeof entity?.grantId === 'string' ? entity.grantId : undefined
    const event = tokenIssued({
      ...base,
      grantType,
      // Without a `scope` parameter the request asks for the grant's scopes (RFC 6749 section 6).
      requestedScopes: (raw.scope ?? source?.scope) as RawValues,
      grantedScopes: grantedScopes as RawValues,
      grantResources: source === undefined ? undefined : (list(source.resource) ?? []),
      previousAud:
        grantId === undefined || grantType !== 'refresh_token' ? undefined : grants.get(grantId),
      attributes: {
        requested_scopes_source:
          raw.scope === undefined && source !== undefined ? 'grant' : 'request',
        ...(grantId !== undefined && { grant_id: grantId }),
        ...(body.token_type !== undefined && { token_type: String(body.token_type) }),
      },
    })
    // As emitted (cleaned): tokenIssued compares the next audience the same way.
    if (grantId !== undefined) grants.set(grantId, event.granted_aud)
    return { event, counter: 'tokens', rejected: false }
  }

  /** A token request that got no access token: who asked for what, and the provider's answer. */
  function refusedToken(ctx: Ctx, raw: Ctx, thrown: unknown): Built {
    const outcome = outcomes.get(ctx) ??
      answered(ctx, thrown, false) ?? { outcome: 'no_access_token' }
    const refusedNow = outcome.outcome === 'rejected'
    const event = authorizationRequested({
      ...common(ctx, raw, thrown),
      requestedResources: raw.resource as RawValues,
      requestedScopes: raw.scope as RawValues,
      attributes: {
        endpoint: 'token',
        ...outcome,
        status: thrown === undefined ? ctx.status : statusOf(thrown),
        ...(raw.grant_type !== undefined && { grant_type: raw.grant_type }),
        client_authenticated:
          ctx.oidc.client?.clientId !== undefined && outcome.error !== 'invalid_client',
      },
    })
    return { event, counter: 'failedGrants', rejected: refusedNow }
  }

  /**
   * The event of a request whose full event could not be built (a bug, or a context that cannot
   * be read): only what the provider itself knows, every request field left out and named.
   */
  function reducedEvent(ctx: Ctx, route: string, thrown: unknown): Built | undefined {
    try {
      const accessToken = thrown === undefined ? readSafely(() => ctx.body?.access_token) : null
      const left = ['client_id', 'subject', 'network', 'requested_resources', 'requested_scopes']
      const facts = { source, tenant, issuer: provider.issuer }
      if (route === 'token' && typeof accessToken === 'string' && accessToken !== '') {
        const event = tokenIssued({
          ...facts,
          grantType: 'unknown',
          accessToken,
          fingerprintKey,
          attributes: { reduced: [...left, 'grant_type', 'granted_aud', 'granted_scopes'] },
        })
        return { event, counter: 'tokens', rejected: false }
      }
      const event = authorizationRequested({
        ...facts,
        attributes: { endpoint: route, outcome: 'unknown', reduced: left },
      })
      return { event, counter: 'authorizations', rejected: false }
    } catch (err) {
      counts.errors += 1
      log.warn({ err: describe(err), route }, 'audit event not built')
      return undefined
    }
  }

  /** What every event of a request has: the provider's facts, and the client's as it sent them. */
  function common(ctx: Ctx, raw: Ctx, thrown: unknown) {
    const { oidc } = ctx
    return {
      source,
      tenant,
      issuer: provider.issuer,
      clientId: (oidc.client?.clientId ?? claimedClientId(ctx, raw)) as string | undefined,
      network: {
        ip: ctx.ip as string | undefined,
        userAgent: ctx.get?.('user-agent') as string | undefined,
      },
      secrets: requestSecrets(ctx, raw, thrown === undefined ? record(ctx.body) : {}),
    }
  }

  return {
    detach() {
      detached = true
      for (const [name, fn] of attached) provider.off?.(name, fn)
    },
    stats: () => ({ ...counts }),
  }
}

function rejected(err: Record<string, unknown> | undefined): Outcome {
  return {
    outcome: 'rejected',
    ...(typeof err?.error === 'string' && { error: err.error }),
    ...(typeof err?.error_description === 'string' && {
      error_description: err.error_description,
    }),
  }
}

/**
 * The outcome the response itself tells, when no provider event did: an error status (or a
 * thrown error) is a refusal with the error of its body; `success` names a 2xx answer.
 */
function answered(ctx: Ctx, thrown: unknown, success: boolean): Outcome | undefined {
  if (thrown !== undefined) {
    const code = (thrown as { error?: unknown })?.error
    return { outcome: 'rejected', error: typeof code === 'string' ? code : 'server_error' }
  }
  const status = ctx.status
  if (typeof status === 'number' && status >= 400) {
    const body = record(ctx.body)
    return {
      outcome: 'rejected',
      error: typeof body.error === 'string' ? body.error : status >= 500 ? 'server_error' : 'error',
      ...(typeof body.error_description === 'string' && {
        error_description: body.error_description,
      }),
    }
  }
  return success ? { outcome: 'accepted' } : undefined
}

function statusOf(err: unknown): number {
  const e = err as { statusCode?: unknown; status?: unknown }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : e?.status
  return typeof status === 'number' && status >= 100 && status <= 599 ? status : 500
}

/** The client id a client claimed without the provider resolving it: form, Basic or assertion. */
function claimedClientId(ctx: Ctx, raw: Ctx): unknown {
  if (raw.client_id !== undefined) return raw.client_id
  const basic = basicCredentials(ctx)
  if (basic !== undefined) return basic.id
  if (typeof raw.client_assertion === 'string') {
    try {
      const { sub, iss } = decodeJwt(raw.client_assertion)
      return sub ?? iss
    } catch {
      return undefined
    }
  }
  return undefined
}

function basicCredentials(ctx: Ctx): { id: string; secret: string } | undefined {
  const header = readSafely(() => ctx.get?.('authorization'))
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined
  try {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
    const at = decoded.indexOf(':')
    if (at === -1) return undefined
    const form = (v: string) => decodeURIComponent(v.replace(/\+/g, '%20'))
    return { id: form(decoded.slice(0, at)), secret: form(decoded.slice(at + 1)) }
  } catch {
    return undefined
  }
}

/**
 * The credentials of a token request a client could copy into a field: the tokens just issued
 * and, when the provider accepted the grant, the grant's own credentials and the client secret it
 * authenticated with. Nothing of a refused request is taken for a secret: its values are only the
 * client's word, and cutting them from other fields would let a client erase what it probed
 * (`client_secret=//t.example.com/payroll` blanked that resource from the event). A raw JWT is
 * cut whatever the outcome (clean.ts); an opaque value a client copies into another field of a
 * refused request is recorded as sent.
 */
function requestSecrets(ctx: Ctx, raw: Ctx, body: Ctx): string[] {
  const out: string[] = []
  const add = (v: unknown) => {
    for (const one of [v].flat())
      if (typeof one === 'string' && one.length >= MIN_SECRET) out.push(one)
  }
  for (const name of SECRET_RESPONSE) add(body[name])
  const accepted = typeof body.access_token === 'string' && readSafely(() => ctx.status) === 200
  if (!accepted) return out
  const grantType = readSafely(() => ctx.oidc?.params?.grant_type ?? raw.grant_type)
  for (const name of (typeof grantType === 'string' && GRANT_SECRETS[grantType]) || [])
    add(raw[name])
  add(raw.client_secret)
  add(readSafely(() => basicCredentials(ctx)?.secret))
  return out
}

/** `value` when it is a plain object (a parsed body or query), else an empty one. */
function record(value: unknown): Ctx {
  return value !== null && typeof value === 'object' && !Buffer.isBuffer(value)
    ? (value as Ctx)
    : {}
}

function readSafely<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

/** `resource` and `scope` of a signed request object (RFC 9101); undefined when encrypted. */
function requestObject(jwt: string): { resource?: unknown; scope?: unknown } | undefined {
  try {
    const claims = decodeJwt(jwt)
    return { resource: claims.resource, scope: claims.scope }
  } catch {
    return undefined
  }
}

function decodeSub(jwt: string): string | undefined {
  try {
    const { sub } = decodeJwt(jwt)
    return typeof sub === 'string' ? sub : undefined
  } catch {
    return undefined
  }
}

function list(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  return undefined
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error'
  const code = (err as { code?: unknown }).code
  return redactTokens(typeof code === 'string' ? `${code}: ${err.message}` : err.message)
}

/** The last granted `aud` per grant, least recently used first out, bounded. */
class GrantMemory {
  readonly #max: number
  readonly #map = new Map<string, string[]>()

  constructor(max: number) {
    this.#max = max
  }

  get(grantId: string): string[] | undefined {
    return this.#map.get(grantId)
  }

  set(grantId: string, aud: string[]): void {
    if (this.#max <= 0) return
    this.#map.delete(grantId)
    this.#map.set(grantId, aud)
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!)
  }
}
