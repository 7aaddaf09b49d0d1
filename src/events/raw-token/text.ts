/**
 * Raw JWTs in one string: found, and cut out or the string replaced.
 *
 * A string is cut where its tokens are when each shows as it is; one that shows only once
 * decoded, or reaches further once decoded, has the whole string replaced. A payload that is
 * not JSON has what spells each token replaced where it is.
 */
import { decodeLayer, holdsOnceDecoded, MAX_LAYERS, mayBeEscaped } from './escapes.js'
import { findRawJwts } from './find.js'

/** What a raw JWT is replaced with in a refused payload. */
export const RAW_JWT_REMOVED = '[raw JWT removed]'

/** The text holds a raw JWT, as it is or with its escapes decoded (see escapes.ts). */
export function holdsRawJwt(text: string): boolean {
  return findRawJwts(text) || holdsOnceDecoded(text)
}

/** `text` with the ranges of `cut` (in order, not overlapping) replaced by RAW_JWT_REMOVED. */
function cutOut(text: string, cut: [number, number][]): string {
  let out = ''
  let from = 0
  for (const [start, end] of cut) {
    out += text.slice(from, start) + RAW_JWT_REMOVED
    from = end
  }
  return out + text.slice(from)
}

/**
 * Where `text` spells a raw JWT once a layer or more of its escapes are decoded: the characters
 * of `text` that decode to it.
 */
function escapedRanges(text: string): [number, number][] {
  const ranges: [number, number][] = []
  if (!mayBeEscaped(text)) return ranges
  let view = text
  // Where each character of the view starts in `text`.
  let at: Int32Array | undefined
  for (let layer = 0; layer < MAX_LAYERS; layer++) {
    const next = decodeLayer(view, true)
    if (next === undefined) break
    const from = next.from!
    if (at !== undefined) for (let i = 0; i < from.length; i++) from[i] = at[from[i]!]!
    at = from
    view = next.text
    const found: [number, number][] = []
    findRawJwts(view, found)
    for (const [start, end] of found) ranges.push([at[start]!, at[end]!])
  }
  return ranges
}

/**
 * `text` with every raw JWT replaced by RAW_JWT_REMOVED where it is; all of it replaced when a
 * JWT shows only once escapes are decoded, or reaches further then (`%65` in its signature):
 * its place in `text` is not kept.
 */
export function withoutRawJwtText(text: string): string {
  const found: [number, number][] = []
  findRawJwts(text, found)
  const escaped = escapedRanges(text).sort((a, b) => a[0] - b[0])
  // Each within a token found as it is (both in order, the found ones apart).
  let k = 0
  for (const [start, end] of escaped) {
    while (k < found.length && found[k]![1] < end) k++
    if (k === found.length || found[k]![0] > start) return RAW_JWT_REMOVED
  }
  return found.length > 0 ? cutOut(text, found) : text
}

/**
 * `text` with every raw JWT replaced by RAW_JWT_REMOVED where it is, also one that shows only
 * once escapes are decoded: the characters that spell it once decoded are replaced. For a
 * payload that is not JSON, whose strings have no bounds to replace whole.
 */
export function withoutRawJwtsInPlace(text: string): string {
  const ranges: [number, number][] = []
  findRawJwts(text, ranges)
  for (const range of escapedRanges(text)) ranges.push(range)
  if (ranges.length === 0) return text
  ranges.sort((a, b) => a[0] - b[0])
  const merged: [number, number][] = []
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else merged.push([start, end])
  }
  return cutOut(text, merged)
}
