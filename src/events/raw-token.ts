/**
 * Raw JWTs where only fingerprints belong. audtrail's collectors never send a token, but events
 * also come from other producers (an authorization server through the small API, HTTP ingest,
 * any Kafka client), and one that copies a bearer token into an event (an attribute, a `jti`, a
 * path with its query string) would have it stored. A compact JWS or JWE begins with its
 * base64url-encoded JSON header, `eyJ` (the encoding of `{"`), and has two or four dots between
 * base64url segments; here it must also start a run of base64url characters (one glued to the
 * end of another such run is not found). That shape is refused in every string and key of an event (parseEvent),
 * and cut out of every refused payload, and its Kafka key, before the payload is stored in
 * `rejected_events` or sent to the dead-letter topic. Opaque tokens have no shape to recognise:
 * keeping them out stays the producer's job.
 */

/**
 * A header of ten characters or more (`{"alg":"none"}` alone encodes to nineteen) that starts a
 * run of base64url characters. Without the lookbehind, a search would try every `eyJ` inside a
 * run, each time to the run's end: 60 KB of `eyJeyJ...` took 3.7 s, and a payload may be 1 MB.
 * With it, each attempt starts a run, and a search reads the text a few times over at most.
 */
const RAW_JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*){2,4}/
const RAW_JWTS = new RegExp(RAW_JWT.source, 'g')
/** The shortest text RAW_JWT matches. */
const MIN_LENGTH = 15

/** What a raw JWT is replaced with in a refused payload. */
export const RAW_JWT_REMOVED = '[raw JWT removed]'

/** The text holds a raw JWT. Cheap for the strings of a valid event: most lack `eyJ`. */
export function holdsRawJwt(text: string): boolean {
  return text.length >= MIN_LENGTH && text.includes('eyJ') && RAW_JWT.test(text)
}

/**
 * `bytes` with every raw JWT replaced by RAW_JWT_REMOVED; `bytes` itself when it holds none.
 * Any bytes, UTF-8 or not: a JWT is ASCII, and every other byte is kept as it was.
 */
export function withoutRawJwts(bytes: Buffer): Buffer {
  if (bytes.indexOf('eyJ') < 0) return bytes
  // latin1 maps each byte to one character and back, so the bytes around a match are unchanged.
  const text = bytes.toString('latin1')
  if (!RAW_JWT.test(text)) return bytes
  return Buffer.from(text.replace(RAW_JWTS, RAW_JWT_REMOVED), 'latin1')
}
