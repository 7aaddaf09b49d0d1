/** A Koa context of the provider, read defensively: every field may be missing or throw. */

export type Ctx = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** `value` when it is a plain object (a parsed body or query), else an empty one. */
export function record(value: unknown): Ctx {
  return value !== null && typeof value === 'object' && !Buffer.isBuffer(value)
    ? (value as Ctx)
    : {}
}

export function readSafely<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}
