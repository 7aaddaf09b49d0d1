/** Resource identifiers (RFC 8707 `resource`, JWT `aud`): canonical form, drift key, comparison. */
import { computeCanonical } from './resource-parse.js'
import type { AliasLookup, CanonicalResource, ResourceComparison } from './resource-types.js'

export * from './resource-types.js'

const CACHE_MAX_ENTRIES = 10_000
const CACHE_MAX_CHARS = 4_000_000
const CACHE_MAX_KEY_LENGTH = 512
const cache = new Map<string, CanonicalResource>()
let cachedChars = 0

/**
 * Canonicalization memoized for the comparison hot path; results are shared and frozen. The memo
 * holds at most 10 000 entries and 4 million characters (raw, canonical and drift key together,
 * about 8 MB), skips raw strings over 512 characters, and is cleared whole when either bound is
 * reached: cheaper than LRU bookkeeping, and real working sets of identifiers are small.
 */
function canonicalCached(raw: string): CanonicalResource {
  const hit = cache.get(raw)
  if (hit !== undefined) return hit
  const result = computeCanonical(raw)
  Object.freeze(result.warnings)
  Object.freeze(result)
  // Stryker disable all: equivalent, what is kept in the memo and when it is cleared changes memory and time, never a result (results are pure and frozen)
  if (raw.length <= CACHE_MAX_KEY_LENGTH) {
    const size = raw.length + result.canonical.length + result.driftKey.length
    if (cache.size >= CACHE_MAX_ENTRIES || cachedChars + size > CACHE_MAX_CHARS) {
      cache.clear()
      cachedChars = 0
    }
    cache.set(raw, result)
    cachedChars += size
  }
  // Stryker restore all
  return result
}

/**
 * Parses `raw` as an RFC 3986 absolute URI without fragment and returns its canonical form and
 * drift key (see {@link CanonicalResource}), or marks it invalid. Never throws. The WHATWG URL
 * parser is deliberately not used: it percent-encodes, rewrites `\` to `/`, accepts
 * `https:example.com` and strips tabs and newlines, all of which would hide what was sent.
 */
export function canonicalizeResource(raw: string): CanonicalResource {
  const c = canonicalCached(raw)
  return { ...c, warnings: [...c.warnings] }
}

/**
 * Classifies two identifiers (see {@link ResourceComparison}); symmetric. Aliases are consulted
 * only when the identifiers are neither identical nor canonically equal, and they win over a
 * drift-key match. Invalid identifiers are compared by exact string and alias only.
 */
export function compareResources(a: string, b: string, aliases?: AliasLookup): ResourceComparison {
  if (a === b) return 'identical'
  const ca = canonicalCached(a)
  const cb = canonicalCached(b)
  const bothValid = ca.valid && cb.valid
  if (bothValid && ca.canonical === cb.canonical) return 'equivalent'
  if (aliases !== undefined) {
    const ra = aliases.resolve(a)
    if (ra !== undefined && ra === aliases.resolve(b)) return 'equivalent'
  }
  if (bothValid && ca.driftKey === cb.driftKey) return 'variant'
  return 'different'
}

/**
 * Builds an {@link AliasLookup} from a resource registry. Each resource and each of its aliases
 * is indexed by its canonical form when it is a valid URI (so `API://my-api/` finds
 * `api://my-api`) and by its exact string otherwise (`my-api` does not match `My-Api`). Lookups
 * resolve to the resource's canonical form (its raw string if invalid). Aliases never extend to
 * drift keys: a variant of an alias is not an alias. A spelling (after canonicalization) claimed
 * by two different resources is ambiguous and resolves to nothing, so an inconsistent registry
 * fails closed instead of depending on entry order. Listing a resource twice merges its aliases.
 */
export function createAliasLookup(
  entries: ReadonlyArray<{ resource: string; aliases?: readonly string[] }>,
): AliasLookup {
  // Valid spellings are indexed by canonical form only, invalid ones by exact string only;
  // null marks a spelling claimed by two resources.
  const index = new Map<string, string | null>()
  for (const entry of entries) {
    const target = canonicalCached(entry.resource).canonical
    for (const spelling of [entry.resource, ...(entry.aliases ?? [])]) {
      const key = canonicalCached(spelling).canonical
      const existing = index.get(key)
      if (existing === undefined) index.set(key, target)
      else if (existing !== target) index.set(key, null)
    }
  }
  return {
    resolve(raw: string): string | undefined {
      return index.get(canonicalCached(raw).canonical) ?? undefined
    },
  }
}
