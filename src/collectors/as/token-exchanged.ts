/** The `token.exchanged` builder (RFC 8693): the subject and actor tokens as references. */
import { LIMITS, type TokenExchangedEvent, type TokenRefInfo } from '../../events/schema.js'
import type { CommonInput, IssuedTokenInput, RawValues } from './common-input.js'
import { common } from './common.js'
import { issuedDelegation, subjectDelegation, type SubjectTokenFacts } from './delegation.js'
import { finish } from './finish.js'
import { inputObject, rawToken, secretsOf, strict } from './input.js'
import { Sanitizer } from './sanitizer.js'
import { issuedToken, refInput, tokenRef } from './token.js'

export interface TokenExchangedInput extends CommonInput, IssuedTokenInput {
  /** the raw subject token (RFC 8693): fingerprinted and, when a JWT, its `jti` decoded */
  subjectToken?: string
  /** or its reference, when the raw subject token is not at hand */
  subjectTokenRef?: TokenRefInfo
  /**
   * what the subject token allowed, when its claims cannot be decoded (opaque, introspected):
   * recorded as `attributes.subject_token_aud` / `subject_token_scopes` / `subject_token_may_act`
   */
  subjectTokenFacts?: SubjectTokenFacts
  actor?: { subject?: string; clientId?: string; token?: string }
  requestedResources?: RawValues
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
  const own = {
    ...issuedDelegation(s, accessToken),
    ...subjectDelegation(
      s,
      subjectToken,
      s.read(i, 'subjectTokenFacts', 'subject_token_facts') as SubjectTokenFacts | undefined,
    ),
  }
  return finish(event, s, s.read(i, 'attributes'), own) as TokenExchangedEvent
}
