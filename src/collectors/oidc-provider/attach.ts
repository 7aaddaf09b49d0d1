/** `attachOidcProvider`: the middleware and listeners that record a provider's requests. */
import { pino } from 'pino'
import { Source, Tenant } from '../../events/schema.js'
import { authorizationRequested, tokenIssued } from '../as.js'
import { redactTokens } from '../emitter/stats.js'
import { AUTHORIZATION_ROUTES, onAuthorization } from './authorization.js'
import { readSafely, type Ctx } from './context.js'
import { GrantMemory } from './grant-memory.js'
import { rejected, type Outcome } from './outcome.js'
import type { Built, CollectorState } from './state.js'
import { onToken } from './token.js'
import type {
  OidcProviderCollector,
  OidcProviderCollectorOptions,
  OidcProviderLike,
  OidcProviderStats,
} from './types.js'

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
  const state: CollectorState = { provider, source, tenant, fingerprintKey, outcomes, grants }
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
      built = isToken ? onToken(state, ctx, thrown) : onAuthorization(state, ctx, route, thrown)
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

  return {
    detach() {
      detached = true
      for (const [name, fn] of attached) provider.off?.(name, fn)
    },
    stats: () => ({ ...counts }),
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error'
  const code = (err as { code?: unknown }).code
  return redactTokens(typeof code === 'string' ? `${code}: ${err.message}` : err.message)
}
