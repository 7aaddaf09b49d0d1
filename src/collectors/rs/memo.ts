/**
 * Bounded memos of pure functions of request texts (the path, the user agent, the client
 * address's verdict; never keyed by a bearer token, see resolve.ts): a server sees the same few
 * texts again and again, and inside a real host the per-request cost of recomputing them (the
 * text screen, the contract's address check) is several times what a tight loop shows, because
 * the host's own work leaves the caches cold (docs/design/collector-cost.md). Emptied when full
 * (no eviction order to keep up), so a flood of new texts costs no more than computing each.
 */
export interface MemoBounds {
  /** entries kept at most */
  entries: number
  /** UTF-16 units of the keys kept at most, all entries together */
  chars: number
  /** longer inputs are computed every time, never kept */
  maxLength: number
}

export interface TextMemo<T> {
  (input: string): T
  /** entries held now (tests) */
  readonly size: number
}

/**
 * `fn` memoized within `bounds`; `keep(input, value)` false leaves a value out of the memo (e.g.
 * a text the screen changed, so no raw JWT is kept as a key).
 */
export function textMemo<T>(
  fn: (input: string) => T,
  bounds: MemoBounds,
  keep: (input: string, value: T) => boolean = () => true,
): TextMemo<T> {
  let memo = new Map<string, T>()
  let chars = 0
  const memoized = (input: string): T => {
    const hit = memo.get(input)
    if (hit !== undefined) return hit
    const value = fn(input)
    if (input.length <= bounds.maxLength && keep(input, value)) {
      if (memo.size >= bounds.entries || chars + input.length > bounds.chars) {
        memo = new Map()
        chars = 0
      }
      memo.set(input, value)
      chars += input.length
    }
    return value
  }
  return Object.defineProperty(memoized, 'size', { get: () => memo.size }) as TextMemo<T>
}
