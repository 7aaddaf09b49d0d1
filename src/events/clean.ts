/**
 * Text a collector copies from a request (a header, a path, a JSON-RPC name, a client-chosen
 * resource) made acceptable to the contract, so that what an attacker writes never decides
 * whether the request is recorded: raw JWTs cut out (see raw-token.ts), lone surrogates and
 * control characters replaced, the length bounded without splitting a surrogate pair.
 */
import { withoutRawJwtText } from './raw-token.js'

// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/g
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** `s` cut to at most `max` UTF-16 units, never ending in the first half of a surrogate pair. */
export function cutAt(s: string, max: number): string {
  if (s.length <= max) return s
  const last = s.charCodeAt(max - 1)
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}

/**
 * `value` with raw JWTs replaced by `[raw JWT removed]`, lone surrogates and control characters
 * by U+FFFD, then cut to `max`. The result may be empty when `value` is.
 */
export function cleanText(value: string, max: number): string {
  let s = value
  // Looked at before the cut, so a token cut in half is still recognised.
  if (s.length > 4 * max) s = cutAt(s, 4 * max)
  s = withoutRawJwtText(s)
  s = s.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, '\uFFFD')
  return cutAt(s, max)
}
