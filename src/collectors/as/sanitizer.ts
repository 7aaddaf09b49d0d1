/** The AS builders' sanitizer: what a client sent (text, ids, dates, lists) made representable. */
import { createHash } from 'node:crypto'
import { cleanText, cutAt } from '../../events/clean.js'
import { RAW_JWT_REMOVED } from '../../events/raw-token.js'
import { LIMITS } from '../../events/schema.js'
import type { Input } from './input.js'

/** Most items read from a list a client sent; the rest are only counted. */
const MAX_READ = 10_000

// eslint-disable-next-line no-control-regex -- control characters are what is escaped
const CONTROL = /[\u0000-\u001f\u007f]/g
/** Space a hash suffix takes: `...` and 16 base64url characters. */
const SUFFIX = 19

/** The event field an input member fills, as named in `attributes.sanitized`. */
const FIELDS: Record<string, string> = {
  requestedResources: 'requested_resources',
  requestedScopes: 'requested_scopes',
  grantedAud: 'granted_aud',
  grantedScopes: 'granted_scopes',
  grantResources: 'grant_resources',
  previousAud: 'previous_aud',
  clientId: 'client_id',
  sessionId: 'session_id',
}

/** `%XX` escapes decoded (enough to find a secret a client percent-encoded). */
function percentDecoded(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  )
}

/** Makes client-controlled values representable, recording which fields it had to change. */
export class Sanitizer {
  readonly changed = new Set<string>()
  readonly oversized: string[] = []
  readonly counts: Record<string, number> = {}

  constructor(private readonly secrets: string[]) {}

  addSecret(secret: string): void {
    if (secret.length >= 8) this.secrets.push(secret)
  }

  mark(field: string): void {
    this.changed.add(field)
  }

  /** `obj[key]`, or undefined (and `field` marked) when the getter throws. */
  read(obj: unknown, key: string, field: string = FIELDS[key] ?? key): unknown {
    if (obj === null || typeof obj !== 'object') return undefined
    try {
      return (obj as Input)[key]
    } catch {
      this.mark(field)
      return undefined
    }
  }

  /** A value of a field that cannot hold it, left out and marked. */
  drop(field: string, value: unknown): undefined {
    if (value !== undefined && value !== null) this.mark(field)
    return undefined
  }

  /** `value` without any of the secrets; all of it replaced when one shows percent-decoded. */
  withoutSecrets(value: string): string {
    let out = value
    for (const secret of this.secrets)
      if (out.includes(secret)) out = out.split(secret).join(RAW_JWT_REMOVED)
    if (out.includes('%')) {
      const decoded = percentDecoded(out)
      if (this.secrets.some((secret) => decoded.includes(secret))) return RAW_JWT_REMOVED
    }
    return out
  }

  /**
   * Text for a field of at most `max` characters: secrets and raw JWTs cut, control characters
   * percent-encoded, lone surrogates replaced, a long value cut with a hash suffix. An empty value
   * is kept (`empty: 'keep'`, requested resources) or becomes `(empty)`.
   */
  text(field: string, value: unknown, o: { max: number; empty?: 'keep' }): string {
    let s = this.asString(field, value)
    const original = s
    if (s.length > 16 * o.max) s = cutAt(s, 16 * o.max)
    s = this.withoutSecrets(s)
    s = s.replace(CONTROL, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
    s = cleanText(s, 4 * o.max)
    if (s.length > o.max) {
      const digest = createHash('sha256').update(s).digest('base64url').slice(0, 16)
      // Cleaned again: the suffix's dots after a header-like run could spell a JWT.
      s = cleanText(`${cutAt(s, o.max - SUFFIX)}...${digest}`, o.max)
    }
    if (s === '' && o.empty !== 'keep') s = '(empty)'
    if (s !== original) this.mark(field)
    return s
  }

  /**
   * An identifier (client_id, subject, jti): left out when over the contract's bound (a cut one
   * could join two different clients or tokens, as rs/sanitize.ts `ident`), its name listed in
   * `oversized_ids`; else cleaned, control characters replaced.
   */
  ident(field: string, value: unknown): string | undefined {
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') return this.drop(field, value)
    let s = value
    if (s.length <= LIMITS.id) s = cleanText(this.withoutSecrets(s), LIMITS.id + 1)
    if (s.length > LIMITS.id) {
      this.oversized.push(field)
      this.mark(field)
      return undefined
    }
    if (s !== value) this.mark(field)
    return s === '' ? undefined : s
  }

  /** A NumericDate within the contract's range, else left out and marked. */
  date(field: string, value: unknown): number | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.drop(field, value)
    const n = Math.floor(value)
    return n >= 0 && n <= 253_402_300_799 ? n : this.drop(field, value)
  }

  /**
   * A list's items as plain strings (a string is one item, or split on `separator`); non-strings
   * become their JSON text and mark `field`, as does a list whose items cannot be read. Undefined
   * when absent.
   */
  listOf(field: string, value: unknown, separator?: string): string[] | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value === 'string')
      return separator === undefined ? [value] : value.split(separator).filter((v) => v !== '')
    const out: string[] = []
    try {
      if (!Array.isArray(value)) return [this.asString(field, value)]
      const n = value.length
      if (n > MAX_READ) this.counts[`${field}_count`] = n
      for (let k = 0; k < Math.min(n, MAX_READ); k++) out.push(this.asString(field, value[k]))
    } catch {
      this.mark(field)
    }
    return out
  }

  /** A list field: capped at the contract's bound, each item cleaned (`text`). */
  list(field: string, value: unknown, o: { max: number; empty?: 'keep' }): string[] {
    const all = this.listOf(field, value) ?? []
    this.cap(field, all.length, LIMITS.listItems)
    return all.slice(0, LIMITS.listItems).map((v) => this.text(field, v, o))
  }

  /** Scopes: a space-delimited string or a list, capped, each cleaned. */
  scopes(field: string, value: unknown): string[] {
    const all = this.listOf(field, value, ' ') ?? []
    this.cap(field, all.length, LIMITS.scopeItems)
    return all.slice(0, LIMITS.scopeItems).map((v) => this.text(field, v, { max: LIMITS.scope }))
  }

  private cap(field: string, length: number, max: number): void {
    if (length <= max) return
    this.mark(field)
    this.counts[`${field}_count`] ??= length
  }

  /** Text of a value that should have been a string (marked). */
  private asString(field: string, value: unknown): string {
    if (typeof value === 'string') return value
    this.mark(field)
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
      return String(value)
    try {
      return JSON.stringify(value) ?? `(${typeof value})`
    } catch {
      return `(${typeof value})`
    }
  }
}
