/** Requests at the authorization-like endpoints (authorization, PAR, device, CIBA) as events. */
import { decodeJwt } from 'jose'
import { authorizationRequested, type RawValues } from '../as.js'
import { record, type Ctx } from './context.js'
import { answered, statusOf } from './outcome.js'
import { common } from './request.js'
import type { Built, CollectorState } from './state.js'

/** Routes that take an authorization request (its `resource` and `scope`). */
export const AUTHORIZATION_ROUTES = new Set([
  'authorization',
  'pushed_authorization_request',
  'device_authorization',
  'backchannel_authentication',
])
/** Routes where the client authenticates: a refused request says whether it did. */
const AUTHENTICATED_ROUTES = new Set(['token', 'pushed_authorization_request'])
const PAR_URI = 'urn:ietf:params:oauth:request_uri:'

/** The event of an authorization-like request; none for an accepted pushed `request_uri`. */
export function onAuthorization(
  c: CollectorState,
  ctx: Ctx,
  route: string,
  thrown: unknown,
): Built | undefined {
  const { oidc } = ctx
  const raw = record(ctx.method === 'POST' ? oidc.body : ctx.query)
  const outcome = c.outcomes.get(ctx) ?? answered(ctx, thrown, route !== 'authorization')
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
    ...common(c, ctx, raw, thrown),
    requestedResources: resource as RawValues,
    requestedScopes: scope as RawValues,
    attributes,
  })
  return { event, counter: 'authorizations', rejected: refusedNow }
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
