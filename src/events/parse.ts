/** Validate one decoded event against the contract; unknown fields move into `attributes`. */
import type { z } from 'zod'
import { EventValidationError } from '../errors.js'
import { fastParse } from './fast-parse.js'
import { holdsRawJwt } from './raw-token.js'
import {
  Actor,
  AuditEventSchema,
  AuthorizationRequested,
  Http,
  LIMITS,
  Network,
  Proof,
  Source,
  Token,
  TokenExchanged,
  TokenIssued,
  TokenPresented,
  TokenRef,
  Tool,
  Confirmation,
  type AuditEvent,
  type EventType,
} from './schema.js'

export type ParseResult = { ok: true; event: AuditEvent } | { ok: false; reasons: string[] }

// Keys that would reach an object's prototype when copied naively; refused anywhere in an event.
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
])
const MAX_DEPTH = 16
/**
 * Half of a UTF-16 surrogate pair without its other half: JSON may spell one (`"\ud800"`), but it
 * is not text. Refused, as undecodable bytes are: ClickHouse refuses the escape too, and one such
 * string would fail the insert of every valid event written with it.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Said of a string or key with a raw JWT in it (see raw-token.ts); never quotes the token. */
const RAW_JWT_PROBLEM = "holds a raw JWT: send the token's fingerprint, never the token"

type Shape = { keys: ReadonlySet<string>; nested: Readonly<Record<string, Shape>> }

function shape(
  schema: { shape: Record<string, unknown> },
  nested: Record<string, Shape> = {},
): Shape {
  return { keys: new Set(Object.keys(schema.shape)), nested }
}

const TOKEN_REF = shape(TokenRef)
const TOKEN = shape(Token, { cnf: shape(Confirmation) })
const COMMON_NESTED = { source: shape(Source), network: shape(Network), token: TOKEN }
const SHAPES: Record<EventType, Shape> = {
  'authorization.requested': shape(AuthorizationRequested, COMMON_NESTED),
  'token.issued': shape(TokenIssued, COMMON_NESTED),
  'token.presented': shape(TokenPresented, {
    ...COMMON_NESTED,
    tool: shape(Tool),
    http: shape(Http),
    proof: shape(Proof),
  }),
  'token.exchanged': shape(TokenExchanged, {
    ...COMMON_NESTED,
    subject_token: TOKEN_REF,
    actor: shape(Actor, { token: TOKEN_REF }),
  }),
}

export interface ParseOptions {
  /**
   * The caller knows every string and key is well-formed Unicode (decoded from valid UTF-8 with
   * no `\u` escape in the text): the scan for lone surrogates is skipped.
   */
  wellFormed?: boolean
  /**
   * The input is JSON.parse's output: the validator compiled from the schema (fast-parse.ts) may
   * accept it, zod deciding only the events it does not accept (same output, same reasons).
   */
  json?: boolean
}

/** Parse and validate one event. Never throws on bad data: returns every reason at once. */
export function parseEvent(input: unknown, options: ParseOptions = {}): ParseResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return { ok: false, reasons: ['(root): must be a JSON object'] }
  const structural = checkStructure(input, 0, !options.wellFormed)
  if (structural) return { ok: false, reasons: [structuralReason(structural)] }

  let event = options.json ? fastParse(input as Record<string, unknown>) : undefined
  if (!event) {
    const parsed = AuditEventSchema.safeParse(input)
    if (!parsed.success) return { ok: false, reasons: formatIssues(parsed.error.issues) }
    event = parsed.data
  }

  const reasons: string[] = []
  if (event.token) {
    if (event.token.jti === undefined && event.token.fingerprint === undefined)
      reasons.push('token: must carry at least one of jti, fingerprint')
  } else if (
    event.event_type !== 'authorization.requested' &&
    !(event.event_type === 'token.presented' && event.reason === 'missing_token')
  ) {
    reasons.push('token: required (absent only on token.presented with reason missing_token)')
  }
  if (
    event.event_type === 'token.exchanged' &&
    event.subject_token.jti === undefined &&
    event.subject_token.fingerprint === undefined
  )
    reasons.push('subject_token: must carry at least one of jti, fingerprint')

  const extra: Record<string, unknown> = Object.create(null)
  collectUnknown(event as Record<string, unknown>, SHAPES[event.event_type], '', extra)
  const attributes: Record<string, unknown> = { ...extra, ...(event.attributes ?? {}) }
  const attributeCount = Object.keys(attributes).length
  if (attributeCount > LIMITS.attributes)
    reasons.push(`attributes: at most ${LIMITS.attributes} entries (got ${attributeCount})`)
  else if (JSON.stringify(attributes).length > LIMITS.attributesJson)
    reasons.push(`attributes: at most ${LIMITS.attributesJson} bytes of JSON`)
  if (reasons.length > 0) return { ok: false, reasons }

  if (attributeCount > 0)
    (event as { attributes?: Record<string, unknown> }).attributes = attributes
  else delete (event as { attributes?: unknown }).attributes
  return { ok: true, event }
}

/** Like `parseEvent`, but throws `EventValidationError` (for producers that build events in code). */
export function assertEvent(input: unknown): AuditEvent {
  const result = parseEvent(input)
  if (!result.ok) throw new EventValidationError(result.reasons)
  return result.event
}

/**
 * The first structural problem of a decoded value, or undefined: too deep, a forbidden key, a
 * raw JWT in a string or key. Paths are spelled out only for the problem found: building one per
 * key cost every valid event about 30 strings. `text`: also look for lone surrogates in strings
 * and keys.
 */
function checkStructure(
  value: unknown,
  depth: number,
  text: boolean,
): { at: string[]; problem: string } | undefined {
  if (depth > MAX_DEPTH) return { at: [], problem: `nested deeper than ${MAX_DEPTH} levels` }
  if (typeof value === 'string') {
    if (text && LONE_SURROGATE.test(value))
      return { at: [], problem: 'not well-formed Unicode (lone surrogate)' }
    return holdsRawJwt(value) ? { at: [], problem: RAW_JWT_PROBLEM } : undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = checkStructure(value[i], depth + 1, text)
      if (found) return (found.at.push(`[${i}]`), found)
    }
    return undefined
  }
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key)) return { at: [key], problem: 'forbidden key' }
    if (text && LONE_SURROGATE.test(key))
      return { at: [], problem: 'a key is not well-formed Unicode' }
    // Not named in the reason: the key is the token.
    if (holdsRawJwt(key)) return { at: [], problem: `a key ${RAW_JWT_PROBLEM}` }
    const found = checkStructure((value as Record<string, unknown>)[key], depth + 1, text)
    if (found) return (found.at.push(key), found)
  }
  return undefined
}

/** `a.b[2].c` from the innermost-first segments checkStructure collected. */
function structuralReason(found: { at: string[]; problem: string }): string {
  let path = ''
  for (let i = found.at.length - 1; i >= 0; i--) {
    const segment = found.at[i]!
    path += segment.startsWith('[') || path === '' ? segment : `.${segment}`
  }
  return `${path || '(root)'}: ${found.problem}`
}

function collectUnknown(
  obj: Record<string, unknown>,
  known: Shape,
  prefix: string,
  out: Record<string, unknown>,
): void {
  for (const key of Object.keys(obj)) {
    const value = obj[key]
    const nested = known.nested[key]
    if (!known.keys.has(key)) {
      out[prefix + key] = value
      delete obj[key]
    } else if (nested && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      collectUnknown(value as Record<string, unknown>, nested, `${prefix}${key}.`, out)
    }
  }
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.slice(0, 20).map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.')
    return `${path.replace(/\.\[/g, '[') || '(root)'}: ${issue.message}`
  })
}
