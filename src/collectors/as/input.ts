/** Reading a builder's input: what the AS supplies is read strictly, a mistake there throws. */

export type Input = Record<string, unknown>

export function inputObject(input: unknown, fn: string): Input {
  if (input === null || typeof input !== 'object')
    throw new TypeError(`${fn}: input must be an object`)
  return input as Input
}

/** A value the AS itself supplies: a getter that throws is its programming mistake. */
export function strict(i: Input, key: string, fn: string): unknown {
  try {
    return i[key]
  } catch {
    throw new TypeError(`${fn}: input.${key} could not be read`)
  }
}

export function rawToken(i: Input, key: string, fn: string): string | undefined {
  const raw = strict(i, key, fn)
  if (raw !== undefined && (typeof raw !== 'string' || raw.length === 0))
    throw new TypeError(`${fn}: ${key} must be a non-empty string`)
  return raw
}

export function secretsOf(i: Input, tokens: readonly (string | undefined)[]): string[] {
  const out = tokens.filter((t): t is string => typeof t === 'string' && t.length >= 8)
  let extra: unknown
  try {
    extra = i.secrets
    if (!Array.isArray(extra)) return out
    for (const v of extra.slice(0, 64)) if (typeof v === 'string' && v.length >= 8) out.push(v)
  } catch {
    // a list that cannot be read holds no secret we could look for
  }
  return out
}

/** Drops `undefined` members of plain objects, recursively, so events stay minimal. */
export function dropUndefined(value: Input): Input {
  const out: Input = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) ? dropUndefined(v as Input) : v
  }
  return out
}
