/** What the engine remembers per token key between events (bounded; expires after `exp`). */
import { fromDateTime64, type EventRow } from '../events/event-row.js'
import { TOKEN_EVENT_COLUMNS } from '../storage/repositories.js'

export interface Presentation {
  /** canonical resource the token was presented at */
  resource: string
  accepted: boolean
  /** presentations seen (an event read again counts once if its id is in `eventIds`) */
  count: number
  firstSeen: number
  lastSeen: number
  /** the first few event ids, for evidence */
  eventIds: string[]
  /** the first few distinct network addresses it came from (token-passthrough tells who sent it) */
  ips: string[]
  /**
   * the first few distinct User-Agent values it came with (token-passthrough: an MCP server's
   * outbound client, when the server's own event arrives after the downstream one)
   */
  userAgents: string[]
}

/** One presentation of a DPoP proof (dpop-proof-replay's evidence). */
export interface ProofPresentation {
  eventId: string
  /** occurred_at (ms) */
  at: number
  accepted: boolean
  source: string
  ip: string
  resource: string
}

/** A DPoP proof presented with this token: its first few presentations, oldest first. */
export interface ProofUse {
  /** occurred_at of its earliest presentation (ms) */
  firstSeen: number
  /** presentations seen (one read again counts once while its id is among `presentations`) */
  count: number
  presentations: ProofPresentation[]
}

/** RFC 8693 section 4.4 `may_act`: who the token's subject allows to act for it. */
export interface MayAct {
  sub?: string
  client_id?: string
}

export interface TokenState {
  tokenKey: string
  tenant: string
  clientId: string
  /** canonical audiences the token was issued for (from token.issued or the token itself) */
  audience: string[]
  /** true when the audience came from the AS's token.issued event */
  issuedSeen: boolean
  exp?: number
  presentations: Map<string, Presentation>
  /** ip -> last seen (ms) */
  ips: Map<string, number>
  lastSeen: number
  /** scopes granted at issuance (or carried by the token when issuance was not seen) */
  scopes: string[]
  /** RFC 8693 delegation: 0 for a token the AS issued, 1 + its subject's depth when exchanged */
  depth: number
  /** the subject token's key, when this token came from a token exchange */
  subjectKey?: string
  /** the issuance's `may_act` claim (attributes.may_act), when the AS recorded one */
  mayAct?: MayAct
  /** canonical audiences of the tokens this one was exchanged for, as a subject token */
  exchangedFor: string[]
  /**
   * DPoP proofs presented with this token, by `jti` fingerprint (dpop-proof-replay): those first
   * seen within PROOF_RETENTION_S of the token's last event, at most MAX_PROOFS, oldest first out.
   * A proof's `ath` names one token (RFC 9449 §4.2), so a proof's presentations live with it.
   */
  proofs?: Map<string, ProofUse>
}

/**
 * How long a proof id is remembered after its first presentation: above the collectors' `iat`
 * window (`dpop.iatWindowSec`, 300 s) plus their skew (60 s), the longest a proof is accepted.
 */
export const PROOF_RETENTION_S = 900
/** Proof ids remembered per token (a client's requests with one token within PROOF_RETENTION_S). */
export const MAX_PROOFS = 64
const MAX_PROOF_PRESENTATIONS = 5

const MAX_EVIDENCE_IDS = 5
const MAX_IPS = 32
const MAX_PRESENTATION_IPS = 8
const MAX_EXCHANGED_FOR = 16

const digits = (s: string, from: number, to: number) => {
  let n = 0
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return NaN
    n = n * 10 + d
  }
  return n
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysIn = (year: number, month: number) =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
    ? 29
    : MONTH_DAYS[month - 1]!

/** Parse an events-row DateTime64 ('YYYY-MM-DD hh:mm:ss.mmm', UTC) to ms. */
export function rowTime(value: string): number {
  // The form ClickHouse writes, read digit by digit (no strings built); anything else by Date.
  if (value.length === 23 && value[10] === ' ' && value[19] === '.') {
    const year = digits(value, 0, 4)
    const month = digits(value, 5, 7)
    const day = digits(value, 8, 10)
    const hour = digits(value, 11, 13)
    const minute = digits(value, 14, 16)
    const second = digits(value, 17, 19)
    if (month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month))
      if (hour < 24 && minute < 60 && second < 60) {
        const ms = Date.UTC(year, month - 1, day, hour, minute, second)
        const fraction = digits(value, 20, 23)
        if (!Number.isNaN(ms + fraction)) return ms + fraction
      }
  }
  return Date.parse(fromDateTime64(value))
}

/**
 * `current` (which has no repeats: every audience is built here or from a Set) followed by the
 * values of `more` it lacks, without repeats; `current` itself when it lacks none (the common
 * case, a token seen again: no new arrays per event).
 */
function union(current: string[], more: readonly string[]): string[] {
  if (more.every((a) => current.includes(a))) return current
  return [...new Set([...current, ...more])]
}

/**
 * The columns of an `events` row the token state reads: all that
 * sql/queries/recent-token-events.sql selects to rebuild it (a test checks the two agree), and
 * the type applyToState takes, so that reading another column does not compile.
 */
export const TOKEN_STATE_COLUMNS = TOKEN_EVENT_COLUMNS

/** What the token state reads of a row (a whole EventRow is one). */
export type TokenStateRow = Pick<EventRow, (typeof TOKEN_STATE_COLUMNS)[number]>

/** A `may_act` value as recorded (attributes.may_act, JSON): its `sub` and `client_id`. */
export function parseMayAct(raw: string | undefined): MayAct | undefined {
  if (raw === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const v = value as Record<string, unknown>
  const out: MayAct = {}
  if (typeof v.sub === 'string') out.sub = v.sub
  if (typeof v.client_id === 'string') out.client_id = v.client_id
  return out.sub === undefined && out.client_id === undefined ? undefined : out
}

/**
 * The subject token's state after a `token.exchanged` row that names it: the exchanged token's
 * audience joins `exchangedFor` (token-passthrough: the token was exchanged, not passed on).
 */
export function applyExchangeToSubject(subject: TokenState, row: TokenStateRow): void {
  if (row.event_type !== 'token.exchanged') return
  const aud =
    row.granted_aud_canonical.length > 0 ? row.granted_aud_canonical : row.token_aud_canonical
  const more = aud.filter((a) => !subject.exchangedFor.includes(a))
  if (more.length > 0)
    subject.exchangedFor = [...subject.exchangedFor, ...more].slice(0, MAX_EXCHANGED_FOR)
}

/**
 * The state after `row`; creates it on the token's first event. Rows without a token key: none.
 * `subject`: for a `token.exchanged` row, the state of its subject token (the delegation depth).
 */
export function applyToState(
  state: TokenState | undefined,
  row: TokenStateRow,
  subject?: TokenState,
): TokenState | undefined {
  if (row.token_key === '') return state
  const at = rowTime(row.occurred_at)
  const s: TokenState = state ?? {
    tokenKey: row.token_key,
    tenant: row.tenant,
    clientId: row.client_id,
    audience: [],
    issuedSeen: false,
    presentations: new Map(),
    ips: new Map(),
    lastSeen: at,
    scopes: [],
    depth: 0,
    exchangedFor: [],
  }
  s.lastSeen = Math.max(s.lastSeen, at)
  if (row.client_id !== '' && s.clientId === '') s.clientId = row.client_id
  if (row.token_exp !== null) s.exp = row.token_exp
  if (row.event_type === 'token.issued' || row.event_type === 'token.exchanged') {
    const aud =
      row.granted_aud_canonical.length > 0 ? row.granted_aud_canonical : row.token_aud_canonical
    s.audience = [...new Set(aud)]
    s.issuedSeen = true
    const scopes = row.granted_scopes.length > 0 ? row.granted_scopes : row.token_scopes
    s.scopes = [...new Set(scopes)]
    const mayAct = parseMayAct(row.attributes.may_act)
    if (mayAct !== undefined) s.mayAct = mayAct
    if (row.event_type === 'token.exchanged' && row.subject_token_key !== '') {
      s.subjectKey = row.subject_token_key
      s.depth = (subject?.depth ?? 0) + 1
    }
  } else if (!s.issuedSeen && row.token_aud_canonical.length > 0) {
    s.audience = union(s.audience, row.token_aud_canonical)
  } else if (!s.issuedSeen && row.presented_aud_canonical.length > 0) {
    s.audience = union(s.audience, row.presented_aud_canonical)
  }
  if (!s.issuedSeen && s.scopes.length === 0 && row.token_scopes.length > 0)
    s.scopes = [...new Set(row.token_scopes)]
  if (row.event_type === 'token.presented' && row.resource_canonical !== '') {
    const p = s.presentations.get(row.resource_canonical) ?? {
      resource: row.resource_canonical,
      accepted: false,
      count: 0,
      firstSeen: at,
      lastSeen: at,
      eventIds: [],
      ips: [],
      userAgents: [],
    }
    // An event applied before (read again after a crash or a rebalance, or warmed up from storage
    // and then read again from the last commit) is not listed twice, nor counted twice when its
    // id is among those kept: the first five at the resource. A later one read again counts
    // twice; no rule decides on the count (cross-audience-replay shows it as evidence).
    if (!p.eventIds.includes(row.event_id)) {
      p.count += 1
      if (p.eventIds.length < MAX_EVIDENCE_IDS) p.eventIds.push(row.event_id)
    }
    p.accepted ||= row.decision === 'accepted'
    if (
      row.network_ip !== '' &&
      !p.ips.includes(row.network_ip) &&
      p.ips.length < MAX_PRESENTATION_IPS
    )
      p.ips.push(row.network_ip)
    if (
      row.network_user_agent !== '' &&
      !p.userAgents.includes(row.network_user_agent) &&
      p.userAgents.length < MAX_PRESENTATION_IPS
    )
      p.userAgents.push(row.network_user_agent)
    p.firstSeen = Math.min(p.firstSeen, at)
    p.lastSeen = Math.max(p.lastSeen, at)
    s.presentations.set(row.resource_canonical, p)
  }
  if (row.event_type === 'token.presented' && row.proof_jti !== '') applyProof(s, row, at)
  if (row.network_ip !== '' && (s.ips.has(row.network_ip) || s.ips.size < MAX_IPS))
    s.ips.set(row.network_ip, at)
  return s
}

/** Remember a presentation of the row's DPoP proof (bounded; an event read again counts once). */
function applyProof(s: TokenState, row: TokenStateRow, at: number): void {
  const proofs = (s.proofs ??= new Map<string, ProofUse>())
  const use = proofs.get(row.proof_jti) ?? { firstSeen: at, count: 0, presentations: [] }
  if (!use.presentations.some((p) => p.eventId === row.event_id)) {
    use.count += 1
    if (use.presentations.length < MAX_PROOF_PRESENTATIONS)
      use.presentations.push({
        eventId: row.event_id,
        at,
        accepted: row.decision === 'accepted',
        source: row.source_id,
        ip: row.network_ip,
        resource: row.resource_canonical,
      })
  }
  use.firstSeen = Math.min(use.firstSeen, at)
  proofs.delete(row.proof_jti) // re-insert: Map order is the order of the latest presentation
  proofs.set(row.proof_jti, use)
  // Forget proofs first seen too long before the token's latest event, then the oldest over the cap.
  const horizon = s.lastSeen - PROOF_RETENTION_S * 1000
  for (const [jti, u] of proofs) {
    if (proofs.size > MAX_PROOFS || u.firstSeen < horizon) proofs.delete(jti)
    else break
  }
}
