/** Identifier helpers for rules: registry entries, resources of an audience, membership. */
import {
  canonicalizeResource,
  compareResources,
  type ResourceComparison,
} from '../../../events/resource.js'
import type { ResourceEntry, ResourceRegistry } from '../../../resource-registry.js'
import { bestAudienceMatch, type EventRow } from '../../../events/event-row.js'

const entryIndex = new WeakMap<ResourceRegistry, Map<string, ResourceEntry>>()

/** The registry entry an identifier belongs to (itself or an alias), if any. */
export function registryEntry(
  raw: string,
  registry: ResourceRegistry | undefined,
): ResourceEntry | undefined {
  if (registry === undefined) return undefined
  let index = entryIndex.get(registry)
  if (index === undefined) {
    index = new Map()
    for (const e of registry.entries) {
      const key = canonicalizeResource(e.resource).canonical
      // A resource listed twice merges; its first entry carries kind and scopes.
      if (!index.has(key)) index.set(key, e)
    }
    entryIndex.set(registry, index)
  }
  const resolved = registry.aliases.resolve(raw)
  return resolved === undefined ? undefined : index.get(resolved)
}

/**
 * The distinct resources an audience names: aliases of one registered resource count once, and
 * so do spellings with one canonical form. Returns one representative raw value per resource.
 */
export function distinctResources(
  aud: readonly string[],
  registry: ResourceRegistry | undefined,
): string[] {
  const seen = new Map<string, string>()
  for (const a of aud) {
    const key = registry?.aliases.resolve(a) ?? canonicalizeResource(a).canonical
    if (!seen.has(key)) seen.set(key, a)
  }
  return [...seen.values()]
}

/** True when `resource` is none of `aud` (alias-aware; a drift variant counts as the same). */
export function outsideAudience(
  resource: string,
  aud: readonly string[],
  registry: ResourceRegistry | undefined,
): boolean {
  return aud.every((a) => compareResources(resource, a, registry?.aliases) === 'different')
}

/** Canonical forms of raw identifiers, in order, without duplicates. */
export function canonicalSet(raw: readonly string[]): string[] {
  return [...new Set(raw.map((r) => canonicalizeResource(r).canonical))]
}

/**
 * The closest class of the presented `aud` to the RS's resource: recomputed with the registry the
 * rule is given (so a registry reload applies), else the class the pipeline stored on the row.
 */
export function audienceMatch(
  row: EventRow,
  registry: ResourceRegistry | undefined,
): ResourceComparison | '' {
  return registry === undefined
    ? row.aud_match
    : bestAudienceMatch(row.resource, row.presented_aud, registry.aliases)
}
