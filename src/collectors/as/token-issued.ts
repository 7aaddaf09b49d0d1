/** The `token.issued` builder, with what marks a resource switch inside or outside the grant. */
import { LIMITS, type TokenIssuedEvent } from '../../events/schema.js'
import type { CommonInput, IssuedTokenInput, RawValues } from './common-input.js'
import { common } from './common.js'
import { issuedDelegation } from './delegation.js'
import { finish } from './finish.js'
import { inputObject, rawToken, secretsOf, strict, type Input } from './input.js'
import { Sanitizer } from './sanitizer.js'
import { issuedToken } from './token.js'

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
  const own: Input = issuedDelegation(s, accessToken)
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

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a)
  const sb = new Set(b)
  return sa.size === sb.size && [...sa].every((v) => sb.has(v))
}
