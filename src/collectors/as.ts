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
export type { CommonInput, IssuedTokenInput, RawValues } from './as/common-input.js'
export {
  authorizationRequested,
  type AuthorizationRequestedInput,
} from './as/authorization-requested.js'
export { tokenIssued, type TokenIssuedInput } from './as/token-issued.js'
export { tokenExchanged, type TokenExchangedInput } from './as/token-exchanged.js'
