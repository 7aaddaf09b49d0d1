/** The `authorization.requested` builder: who asked for which resources and scopes. */
import { LIMITS, type AuthorizationRequestedEvent } from '../../events/schema.js'
import type { CommonInput, RawValues } from './common-input.js'
import { common } from './common.js'
import { finish } from './finish.js'
import { inputObject, secretsOf } from './input.js'
import { Sanitizer } from './sanitizer.js'

export interface AuthorizationRequestedInput extends CommonInput {
  /** the `resource` parameter(s) exactly as received (RFC 8707: repeated, not space-delimited) */
  requestedResources?: RawValues
  /** the `scope` parameter as received (space-delimited) or a list */
  requestedScopes?: RawValues
}

/** Builds an `authorization.requested` event (see as.ts for what is cleaned). */
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
