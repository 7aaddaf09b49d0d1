/**
 * A mapping profile: which OTLP records it reads, and what of a contract v1 event it takes from
 * them. Profiles are layered, not exclusive: every profile that matches a record adds what it
 * knows, in the order of PROFILES (map.ts), a later one overriding an earlier one field by field:
 * the conventions first, agentgateway's attributes next, the explicit `audtrail.*` last.
 */
import { isIP } from 'node:net'
import type { Attributes, OtlpRecord, OtlpValue } from '../model.js'

/** The event being built: contract v1 field names, nested objects as plain objects. */
export type Draft = Record<string, unknown>

export interface Profile {
  id: string
  /** What the profile follows (a specification and its version, or a product and its docs). */
  follows: string
  /** Whether it reads the record; a string: it declines it, and why (answered to the sender). */
  matches(record: OtlpRecord): boolean | string
  apply(record: OtlpRecord, draft: Draft): void
}

/** Span kinds of OTLP (trace.proto `SpanKind`). */
export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const

/** A string attribute of the record, else of its resource (`resource` true), else undefined. */
export function str(attrs: Attributes, key: string): string | undefined {
  const v = attrs.get(key)
  return typeof v === 'string' ? v : undefined
}

/** An integer attribute (an OTLP int, or a string of digits as some exporters write them). */
export function int(attrs: Attributes, key: string): number | undefined {
  const v = attrs.get(key)
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v)
  return undefined
}

/** A boolean attribute (an OTLP bool, or the strings `true` / `false`). */
export function bool(attrs: Attributes, key: string): boolean | undefined {
  const v = attrs.get(key)
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 'false') return v === 'true'
  return undefined
}

/**
 * A list of strings: an OTLP array of strings, or one string split on spaces (how OAuth writes
 * scopes, and what a single `aud` is). Non-string items make it undefined (the field is not set).
 */
export function strings(attrs: Attributes, key: string): string[] | undefined {
  const v: OtlpValue | undefined = attrs.get(key)
  if (typeof v === 'string') return v.split(' ').filter((s) => s !== '')
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[]
  return undefined
}

/** An IP address from `addr`, `addr:port` or `[v6]:port`; undefined when there is none. */
export function ipOf(addr: string | undefined): string | undefined {
  if (addr === undefined) return undefined
  if (isIP(addr)) return addr
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(addr)
  if (v6 && isIP(v6[1]!)) return v6[1]
  const v4 = /^([\d.]+):\d+$/.exec(addr)
  if (v4 && isIP(v4[1]!)) return v4[1]
  return undefined
}

/** Sets `draft[path]` (dotted) to `value` unless it is undefined, creating objects on the way. */
export function set(draft: Draft, path: string, value: unknown): void {
  if (value === undefined) return
  const keys = path.split('.')
  let at: Record<string, unknown> = draft
  for (const key of keys.slice(0, -1)) {
    const next = at[key]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) at[key] = {}
    at = at[key] as Record<string, unknown>
  }
  at[keys[keys.length - 1]!] = value
}

/** `service.name` of the record's resource. */
export const serviceName = (record: OtlpRecord) => str(record.resource, 'service.name')
