/**
 * JSON Canonicalization Scheme (RFC 8785, JCS): the one byte sequence a JSON value has, so that a
 * digest of it survives re-indentation, key reordering and re-serialisation by another tool.
 *
 * - objects: members sorted by key, compared as UTF-16 code units (JavaScript's default string
 *   order), no whitespace;
 * - strings: as ECMAScript JSON.stringify writes them (RFC 8785 section 3.2.2.2 is that rule);
 * - numbers: ECMAScript Number-to-String (section 3.2.2.3), which is what JSON.stringify writes;
 *   NaN and the infinities have no JSON form and are refused;
 * - literals: true, false, null; arrays keep their order.
 *
 * `undefined` members are left out (as JSON.stringify does); anything else that is not JSON
 * (functions, symbols, bigints) is refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number')
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
      const record = value as Record<string, unknown>
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort()
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} has no JSON form`)
  }
}
