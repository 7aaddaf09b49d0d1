/**
 * Raw JWTs where only fingerprints belong. audtrail's collectors never send a token, but events
 * also come from other producers (an authorization server through the small API, HTTP ingest,
 * any Kafka client), and one that copies a bearer token into an event (an attribute, a `jti`, a
 * path with its query string) would have it stored.
 *
 * What counts as a raw JWT, and how its header is recognised: raw-token/header.ts. Where a
 * string is searched, and what that costs: raw-token/find.ts. Escapes: raw-token/escapes.ts.
 * What is cut or replaced: raw-token/text.ts (a string) and raw-token/payload.ts (a payload).
 *
 * Left out: whitespace inside a segment (which jose would skip) and standard base64 (`+`, `/`,
 * which jose refuses), neither of which an issuer writes; a token encoded as a whole (inside a
 * base64 Basic credential, as HTML entities); escapes nested more than eight deep; and opaque
 * tokens, which have no shape to recognise: keeping them out stays the producer's job.
 *
 * Such a token is refused in every string and key of an event (parseEvent), and cut out of every
 * refused payload, and its Kafka key, before the payload is stored in `rejected_events` or sent
 * to the dead-letter topic, and out of every text a collector copies into an event (cleanText).
 */
export { holdsRawJwt, RAW_JWT_REMOVED, withoutRawJwtText } from './raw-token/text.js'
export { withoutRawJwts } from './raw-token/payload.js'
