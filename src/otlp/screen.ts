/**
 * Raw credentials in an OTLP record, found before anything of it is mapped: the product's rule
 * (src/events/raw-token.ts) that a raw JWT is refused in every string and key of an event, applied
 * to the whole record (its attributes, its resource's, its name), since telemetry copies headers
 * and URLs that the contract's fields never would. Beyond JWTs, which have a shape to recognise,
 * two things name an opaque credential here and are refused too: a value that reads as an
 * `Authorization` header (`Bearer <token68>`, `DPoP <token68>`), and any non-empty value of an
 * attribute named after that header (`http.request.header.authorization`, the conventions' way of
 * recording request headers).
 *
 * A refused record is kept for triage (rejected_events) as `summary` writes it: credentials
 * replaced, raw JWTs cut, as every refused payload is.
 */
import { holdsRawJwt, RAW_JWT_REMOVED, withoutRawJwtText } from '../events/raw-token.js'
import type { Attributes, OtlpRecord, OtlpValue } from './model.js'

/** What a credential that is not a JWT is replaced with in a kept record. */
export const CREDENTIAL_REMOVED = '[credential removed]'

const BEARER = /^\s*(bearer|dpop)\s+[A-Za-z0-9._~+/-]+=*\s*$/i
const AUTH_KEY = /(^|[._-])(proxy[._-])?authorization$/i

const credentialValue = (key: string, value: string) =>
  BEARER.test(value) || (AUTH_KEY.test(key) && value.trim() !== '')

/** Each string of `value` with the key it is under (arrays and lists walked; depth is bounded). */
function* strings(key: string, value: OtlpValue): Generator<[string, string]> {
  if (typeof value === 'string') yield [key, value]
  else if (Array.isArray(value)) for (const v of value) yield* strings(key, v)
  else if (value instanceof Map)
    for (const [k, v] of value) {
      yield [`${key}.${k}`, k]
      yield* strings(`${key}.${k}`, v)
    }
}

function screenAttributes(where: string, attrs: Attributes, reasons: Set<string>): void {
  for (const [key, value] of attrs) {
    if (holdsRawJwt(key)) reasons.add(`${where}: an attribute key holds a raw JWT`)
    for (const [k, s] of strings(key, value)) {
      const name = holdsRawJwt(k) ? '(key removed)' : k
      if (holdsRawJwt(s))
        reasons.add(`${where}attribute '${name}' holds a raw JWT: send its jti or fingerprint`)
      else if (credentialValue(k, s))
        reasons.add(`${where}attribute '${name}' holds a credential: never export tokens`)
    }
  }
}

/** Why the record may not be kept as an event (raw JWTs, credentials); empty when it may. */
export function screenRecord(record: OtlpRecord): string[] {
  const reasons = new Set<string>()
  screenAttributes('', record.attributes, reasons)
  screenAttributes('resource ', record.resource, reasons)
  for (const [what, text] of [
    ['name', record.name],
    ['scope name', record.scope.name],
    ['scope version', record.scope.version],
  ] as const)
    if (holdsRawJwt(text)) reasons.add(`${what}: holds a raw JWT`)
  return [...reasons]
}

/** A value as JSON for the kept summary, credentials replaced and raw JWTs cut out. */
function clean(key: string, value: OtlpValue): unknown {
  if (typeof value === 'string')
    return credentialValue(key, value) ? CREDENTIAL_REMOVED : withoutRawJwtText(value)
  if (value instanceof Uint8Array) return `base64:${Buffer.from(value).toString('base64')}`
  if (Array.isArray(value)) return value.map((v) => clean(key, v))
  if (value instanceof Map) return cleanAttributes(value, `${key}.`)
  return value
}

function cleanAttributes(attrs: Attributes, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of attrs) {
    const key = holdsRawJwt(k) ? RAW_JWT_REMOVED : k
    Object.defineProperty(out, key, {
      value: clean(prefix + k, v),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/** What a refused record is kept as: its identifying fields and attributes, without credentials. */
export function summary(record: OtlpRecord): string {
  return JSON.stringify({
    otlp: record.signal,
    where: record.where,
    name: withoutRawJwtText(record.name),
    trace_id: record.traceId,
    span_id: record.spanId,
    time_unix_nano: record.timeUnixNano,
    resource: cleanAttributes(record.resource),
    attributes: cleanAttributes(record.attributes),
  })
}
