/** `audtrail/collectors/oidc-provider`: authorization.requested and token.issued from node-oidc-provider. */
import { decodeJwt } from 'jose'
import { pino, type Logger } from 'pino'
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

export interface OidcProviderCollector {
  /** Stops collecting: removes the listeners; the middleware stays in the stack, doing nothing. */
  detach(): void
  stats(): { authorizations: number; tokens: number; exchanges: number; errors: number }
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
type Outcome = { outcome: string; error?: string }
type Ctx = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Hooks a Koa middleware in front of the provider's router and reads, after the provider has
 * answered: at the authorization endpoint (and PAR), the raw `resource` and `scope` parameters as
 * the client sent them (query, form body, or the signed request object), with the outcome from the
 * provider's events; at the token endpoint, the access token in the response (fingerprinted, never
 * emitted; decoded when a JWT) and the `AccessToken` / `ClientCredentials` entity. Opaque tokens
 * get no `jti`: an opaque token's `jti` is the token itself. Nothing here throws into the provider
 * or awaits anything: a failure is logged (never with a token) and counted in `stats().errors`.
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
  const grants = new GrantMemory(options.maxTrackedGrants ?? 10_000)
  const outcomes = new WeakMap<object, Outcome>()
  const counts = { authorizations: 0, tokens: 0, exchanges: 0, errors: 0 }
  let detached = false

  const listeners: [string, (ctx: Ctx, err?: { error?: unknown }) => void][] = [
    ['authorization.accepted', (ctx) => outcomes.set(ctx, { outcome: 'accepted' })],
    ['interaction.started', (ctx) => outcomes.set(ctx, { outcome: 'interaction_required' })],
    ['pushed_authorization_request.success', (ctx) => outcomes.set(ctx, { outcome: 'pushed' })],
    ['authorization.error', (ctx, err) => outcomes.set(ctx, rejected(err))],
    ['pushed_authorization_request.error', (ctx, err) => outcomes.set(ctx, rejected(err))],
  ]
  const attached = listeners.map(([name, fn]) => [name, guarded(fn)] as const)
  for (const [name, fn] of attached) provider.on(name, fn)

  provider.use(async (ctx: Ctx, next) => {
    await next()
    if (detached) return
    try {
      const route = ctx.oidc?.route
      if (route === 'authorization' || route === 'pushed_authorization_request')
        onAuthorization(ctx)
      else if (route === 'token') onToken(ctx)
    } catch (err) {
      counts.errors += 1
      log.warn({ err: describe(err), route: ctx.oidc?.route }, 'audit event not built')
    }
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

  function onAuthorization(ctx: Ctx): void {
    const { oidc } = ctx
    // An unknown client_id is nobody's authorization request (the provider logs it as an error).
    if (oidc.client?.clientId === undefined) return
    const raw: Ctx = (ctx.method === 'POST' ? oidc.body : ctx.query) ?? {}
    // A request_uri from PAR was already recorded when it was pushed.
    if (oidc.route === 'authorization' && raw.request_uri !== undefined) return
    let { resource, scope } = raw
    const attributes: Record<string, unknown> = { endpoint: oidc.route, ...outcomes.get(ctx) }
    if (typeof raw.request === 'string') {
      const claims = requestObject(raw.request)
      attributes.request_object = claims === undefined ? 'encrypted' : 'signed'
      ;({ resource, scope } = claims ?? {
        resource: oidc.params?.resource,
        scope: oidc.params?.scope,
      })
    }
    emitter.emit(
      authorizationRequested({
        ...common(ctx),
        requestedResources: resource as RawValues,
        requestedScopes: scope as RawValues,
        attributes,
      }),
    )
    counts.authorizations += 1
  }

  function onToken(ctx: Ctx): void {
    const body = ctx.body as Ctx | undefined
    const accessToken = body?.access_token
    if (ctx.status !== 200 || typeof accessToken !== 'string' || accessToken === '') return
    const { oidc } = ctx
    const raw: Ctx = oidc.body ?? {}
    const grantType = String(oidc.params?.grant_type)
    const entity = oidc.entities?.AccessToken ?? oidc.entities?.ClientCredentials
    const format = entity?.format ?? (accessToken.split('.').length === 3 ? 'jwt' : 'opaque')
    const now = Math.floor(Date.now() / 1000)
    const expiresIn = typeof body?.expires_in === 'number' ? body.expires_in : undefined
    const grantedScopes = typeof entity?.scope === 'string' ? entity.scope : body?.scope
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
      ...common(ctx),
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
      emitter.emit(
        tokenExchanged({
          ...base,
          subjectToken: raw.subject_token,
          attributes: { grant_type: grantType },
        }),
      )
      counts.exchanges += 1
      return
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
        ...(body?.token_type !== undefined && { token_type: String(body.token_type) }),
      },
    })
    if (grantId !== undefined) grants.set(grantId, event.granted_aud)
    emitter.emit(event)
    counts.tokens += 1
  }

  function common(ctx: Ctx) {
    const { oidc } = ctx
    return {
      source,
      tenant,
      issuer: provider.issuer,
      clientId: oidc.client?.clientId as string | undefined,
      network: {
        ip: ctx.ip as string | undefined,
        userAgent: ctx.get?.('user-agent') as string | undefined,
      },
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

function rejected(err: { error?: unknown } | undefined): Outcome {
  return { outcome: 'rejected', ...(typeof err?.error === 'string' && { error: err.error }) }
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
