/**
 * Where a string holds raw JWTs: candidates for the start of a header, then the segments after it.
 *
 * The header may start anywhere in a string (after a space, `%20`, `=`, an escape or other
 * base64url characters). Candidates are the three spellings of `{` then whitespace or `"`, one
 * for each place of the `{` in a base64 group (`ey` or `ew` and one of twenty characters; `Hs`,
 * `Xs` or `ns` and five; `B7`, `l7`, `p7` or `17` and three); a header that starts with
 * whitespace or a byte order mark is followed back to its first group. A string is searched
 * for candidates only when some dot in it ends sixteen base64url characters or more, which
 * most strings (a URL, a user agent, a sentence) do not.
 *
 * The scan reads the text a few times over at most, whatever it holds (a regular expression for
 * the same shape took 3.7 s on 60 KB of `eyJeyJ...`): the checks of two candidates of one
 * decoding overlap by a few bytes at most, as a key ends at the next unescaped quote, which a
 * later candidate's `{` is always followed by.
 */
import { isBase64url } from './chars.js'
import { headerStart } from './header.js'

/** The shortest header looked at: `{"alg":"none"}` alone encodes to 19 characters. */
const MIN_HEADER = 16
/** The shortest text that can hold a JWT: a header and two dots. */
export const MIN_LENGTH = MIN_HEADER + 2
/**
 * A `{` followed by JSON whitespace or `"`, as the first, second or third byte of a base64 group
 * (see the module comment). A match hides no other candidate: the characters it spans start no
 * other, but for `B`, `l`, `n`, `p` or `1` as the third character of `ey`/`ew`, where a `{` would
 * follow bytes that are not whitespace. One object for every search (set `lastIndex` first): a
 * new one per string cost every valid event thirty.
 */
export const CANDIDATE = /e(?:y[A-DI-L]|w[k-r0-3])|[HXn]s[giJKN]|[Blp1]7[CDI]/g

function runEnd(s: string, i: number): number {
  while (i < s.length && isBase64url(s.charCodeAt(i))) i++
  return i
}

/** Past the `=` padding (at most two) at `i`. */
function paddingEnd(s: string, i: number): number {
  if (s.charCodeAt(i) === 61) i++
  if (s.charCodeAt(i) === 61) i++
  return i
}

/** The length of the dot at `i` (`.`, or `%2E` / `%2e`), 0 when there is none. */
function dotAt(s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c === 46) return 1
  if (c === 37 && s.charCodeAt(i + 1) === 50 && (s.charCodeAt(i + 2) | 0x20) === 101) return 3
  return 0
}

/**
 * Some dot of `s` (`.` or `%2E`) ends a run of base64url characters as long as a header at least,
 * as every JWT's first dot does. Most strings have none (a URL, a user agent, a sentence): they
 * are not searched for candidates at all.
 */
function mayHoldJwt(s: string): boolean {
  for (let dot = s.indexOf('.'); dot >= 0; dot = s.indexOf('.', dot + 1))
    if (headerLongRunEndsAt(s, dot)) return true
  for (let p = s.indexOf('%'); p >= 0; p = s.indexOf('%', p + 1))
    if (dotAt(s, p) === 3 && headerLongRunEndsAt(s, p)) return true
  return false
}

/** MIN_HEADER base64url characters, and perhaps padding, end at `end`. */
function headerLongRunEndsAt(s: string, end: number): boolean {
  let i = end
  if (s.charCodeAt(i - 1) === 61) i--
  if (s.charCodeAt(i - 1) === 61) i--
  if (i < MIN_HEADER) return false
  for (let k = i - 1; k >= i - MIN_HEADER; k--) if (!isBase64url(s.charCodeAt(k))) return false
  return true
}

/**
 * `s` holds a raw JWT. With `found`, where each starts and ends is added to it, in order;
 * without, the search ends at the first.
 */
export function findRawJwts(s: string, found?: [number, number][]): boolean {
  if (s.length < MIN_LENGTH || !mayHoldJwt(s)) return false
  let any = false
  CANDIDATE.lastIndex = 0
  // The segment of the last candidate looked at, and where a token starting in it would end:
  // every candidate in the same segment shares them.
  let segmentEnd = -1
  let tokenEnd = -1
  let dots = 0
  while (CANDIDATE.test(s)) {
    // Every match is three characters long (test, unlike exec, makes no match object).
    const at = CANDIDATE.lastIndex - 3
    if (at >= segmentEnd) {
      segmentEnd = runEnd(s, at)
      tokenEnd = paddingEnd(s, segmentEnd)
      for (dots = 0; dots < 4; dots++) {
        const dot = dotAt(s, tokenEnd)
        if (dot === 0) break
        tokenEnd = paddingEnd(s, runEnd(s, tokenEnd + dot))
      }
    }
    if (dots < 2) continue
    // The `{` is the first byte of a group at an `e`, the second at H, X or n, else the third.
    const c = s.charCodeAt(at)
    const brace = c === 101 ? 0 : c === 72 || c === 88 || c === 110 ? 1 : 2
    const group = at - brace
    if (group < 0 || (brace > 0 && !isBase64url(s.charCodeAt(at - 1)))) continue
    if (brace > 1 && !isBase64url(s.charCodeAt(at - 2))) continue
    const start = headerStart(s, group, brace, segmentEnd)
    if (start >= 0 && segmentEnd - start >= MIN_HEADER) {
      any = true
      if (found === undefined) break
      found.push([start, tokenEnd])
      CANDIDATE.lastIndex = tokenEnd
      segmentEnd = -1
    }
  }
  return any
}
