/**
 * The evidence metrics of a compliance report: what each one measures, the events it needs (its
 * basis: no such events in the period means no evidence), and the default threshold of the ones
 * that decide a control by themselves. Values come from `sql/queries/report-token-metrics.sql`,
 * `report-drift.sql` and, when the period holds a repeat, `report-event-metrics.sql` (see
 * queryEventMetrics); the sender-constraint metrics from `report-sender-constraint.sql`
 * (src/storage/report-sender-constraint.ts).
 */
import { expiredTokenAccepted } from '../detection/rules/expired-token-accepted.js'
import { longLivedToken } from '../detection/rules/long-lived-token.js'
import type { DriftRow, TokenMetricsRow } from '../storage/repositories.js'
import type { SenderConstraintRow } from '../storage/report-sender-constraint.js'

export const METRIC_IDS = [
  'aud_validation_coverage',
  'accepted_mismatches',
  'expired_tokens_accepted',
  'resource_indicator_coverage',
  'multi_audience_token_share',
  'cross_audience_replays',
  'drifted_resources',
  'token_lifetime_p50_s',
  'token_lifetime_p95_s',
  'logging_completeness',
  'token_presentations',
  'token_requests',
  'sender_constrained_token_share',
  'proof_of_possession_coverage',
  'unproven_bound_presentations',
] as const
export type MetricId = (typeof METRIC_IDS)[number]

export type MetricUnit = 'ratio' | 'count' | 'seconds'

/** `min`: the value must be at least `value`; `max`: at most. */
export interface Threshold {
  op: 'min' | 'max'
  value: number
}

export interface MetricDef {
  title: string
  unit: MetricUnit
  description: string
  /** What the period must contain for the metric to be evidence. */
  basis: string
}

/** The figures of the report's evidence queries (counts as numbers). */
export type EventMetricsRow = Omit<TokenMetricsRow, 'tokens_with_repeats' | 'repeated_tokens'> &
  DriftRow

export const METRICS: Readonly<Record<MetricId, MetricDef>> = {
  aud_validation_coverage: {
    title: 'Audience-validation coverage',
    unit: 'ratio',
    description: 'Share of accepted token presentations whose resource server validated `aud`.',
    basis: 'accepted token presentations',
  },
  accepted_mismatches: {
    title: 'Accepted audience mismatches',
    unit: 'count',
    description:
      "Accepted presentations whose presented `aud` does not name the server's resource (class `different`).",
    basis: 'accepted token presentations',
  },
  expired_tokens_accepted: {
    title: 'Expired tokens accepted',
    unit: 'count',
    description: `Tokens accepted after \`exp\` plus ${expiredTokenAccepted.params.parse({}).clockSkewS} s of clock skew (the expired-token-accepted default).`,
    basis: 'tokens with a known `exp` accepted in the period',
  },
  resource_indicator_coverage: {
    title: 'Resource-indicator coverage',
    unit: 'ratio',
    description:
      'Share of authorization, token and token-exchange requests that carry an RFC 8707 `resource`.',
    basis: 'authorization or token requests',
  },
  multi_audience_token_share: {
    title: 'Multi-audience token share',
    unit: 'ratio',
    description: 'Share of tokens issued or presented with more than one canonical audience.',
    basis: 'tokens with a known audience',
  },
  cross_audience_replays: {
    title: 'Cross-audience replays',
    unit: 'count',
    description:
      'Tokens presented at two or more canonical resources, at least one outside their `aud` (accepted or not).',
    basis: 'token presentations',
  },
  drifted_resources: {
    title: 'Drifted resources',
    unit: 'count',
    description:
      'Resources (drift keys) seen under two or more raw spellings as requested resource, granted or presented `aud`, or RS configuration.',
    basis: 'events',
  },
  token_lifetime_p50_s: {
    title: 'Token lifetime p50',
    unit: 'seconds',
    description: 'Median `exp - iat` over distinct tokens (linear interpolation, PERCENTILE.INC).',
    basis: 'tokens with `iat` and `exp`',
  },
  token_lifetime_p95_s: {
    title: 'Token lifetime p95',
    unit: 'seconds',
    description: '95th percentile of `exp - iat` over distinct tokens (PERCENTILE.INC).',
    basis: 'tokens with `iat` and `exp`',
  },
  logging_completeness: {
    title: 'Logging completeness',
    unit: 'ratio',
    description:
      'Share of presentations carrying a token that record the resource, the presented `aud` and, at MCP servers, the invoked JSON-RPC method (and the tool name for `tools/call`).',
    basis: 'token presentations carrying a token',
  },
  token_presentations: {
    title: 'Token presentations monitored',
    unit: 'count',
    description: 'Token presentations recorded in the period (the base of every detection).',
    basis: 'token presentations',
  },
  token_requests: {
    title: 'Token requests monitored',
    unit: 'count',
    description: 'Authorization, token and token-exchange requests recorded in the period.',
    basis: 'authorization or token requests',
  },
  sender_constrained_token_share: {
    title: 'Sender-constrained token share',
    unit: 'ratio',
    description:
      'Share of distinct tokens issued, exchanged or presented in the period that are bound to a key: a DPoP `cnf.jkt` (RFC 9449 §6) or a client-certificate `cnf.x5t#S256` (RFC 8705 §3.1).',
    basis: 'tokens issued or presented',
  },
  proof_of_possession_coverage: {
    title: 'Proof-of-possession coverage',
    unit: 'ratio',
    description:
      'Share of accepted token presentations that proved possession: a valid DPoP proof (RFC 9449 §4.3) or the client certificate the token is bound to (RFC 8705 §3). Presentations from collectors that record no proof facts count as unproven.',
    basis: 'accepted token presentations',
  },
  unproven_bound_presentations: {
    title: 'Bound tokens accepted without proof',
    unit: 'count',
    description:
      'Accepted presentations of a sender-constrained token without a valid proof of possession: a DPoP-bound token sent as `Bearer`, an invalid or unchecked DPoP proof, a certificate-bound token without its certificate (RFC 9449 §7.1, §7.2; RFC 8705 §3). Only presentations whose collector records proof facts count.',
    basis: 'accepted presentations of bound tokens with proof facts',
  },
}

/**
 * Default thresholds: only the metrics that measure a MUST (or audtrail's logging policy) have
 * one; the rest are informational evidence and their controls are decided by findings.
 */
export const DEFAULT_THRESHOLDS: Readonly<Partial<Record<MetricId, Threshold>>> = {
  /** RFC 9068 §4: the RS MUST validate `aud` on every token. */
  aud_validation_coverage: { op: 'min', value: 1 },
  /** RFC 9068 §4 / MCP Token Handling: a token for another resource MUST be rejected. */
  accepted_mismatches: { op: 'max', value: 0 },
  /** RFC 9068 §4 bullet 6: the current time MUST be before `exp`. */
  expired_tokens_accepted: { op: 'max', value: 0 },
  /** MCP Resource Parameter Implementation: `resource` MUST be in every request. */
  resource_indicator_coverage: { op: 'min', value: 1 },
  /** long-lived-token's default maximum lifetime, applied to the 95th percentile. */
  token_lifetime_p95_s: { op: 'max', value: longLivedToken.params.parse({}).maxLifetimeS },
  /** audtrail's logging policy: at most 1 in 100 presentations may lack a field. */
  logging_completeness: { op: 'min', value: 0.99 },
  /**
   * RFC 9449 §7.1 and §7.2, RFC 8705 §3: a resource server MUST refuse a bound token without its
   * proof. The two shares have no default: no framework of the catalog requires sender-constrained
   * tokens (docs/design/sender-constraint-coverage.md); a deployment that does (FAPI 2.0, its own
   * policy) sets `thresholds.sender_constrained_token_share` or `proof_of_possession_coverage`.
   */
  unproven_bound_presentations: { op: 'max', value: 0 },
}

export interface MetricFigure {
  value: number | null
  /** The count the metric needs; 0 means no evidence. */
  basis: number
  numerator?: number
}

const ratio = (numerator: number, basis: number): MetricFigure => ({
  value: basis > 0 ? numerator / basis : null,
  basis,
  numerator,
})
const count = (value: number, basis: number): MetricFigure => ({
  value: basis > 0 ? value : null,
  basis,
})

/** Each metric's value and basis from the query rows. */
export function metricFigures(
  r: EventMetricsRow,
  s: SenderConstraintRow,
): Record<MetricId, MetricFigure> {
  const lifetime = (i: number) => count(Number(r.lifetime_quantiles[i]), r.tokens_with_lifetime)
  return {
    aud_validation_coverage: ratio(r.accepted_validated, r.accepted),
    accepted_mismatches: count(r.accepted_mismatches, r.accepted),
    expired_tokens_accepted: count(r.expired_tokens_accepted, r.accepted_tokens_with_exp),
    resource_indicator_coverage: ratio(r.token_requests_with_resource, r.token_requests),
    multi_audience_token_share: ratio(r.multi_audience_tokens, r.tokens_with_aud),
    cross_audience_replays: count(r.cross_audience_replays, r.presentations),
    drifted_resources: count(r.drifted_keys.length, r.events),
    token_lifetime_p50_s: lifetime(0),
    token_lifetime_p95_s: lifetime(1),
    logging_completeness: ratio(r.complete_presentations, r.loggable_presentations),
    token_presentations: count(r.presentations, r.presentations),
    token_requests: count(r.token_requests, r.token_requests),
    sender_constrained_token_share: ratio(s.bound_tokens, s.tokens),
    proof_of_possession_coverage: ratio(s.proven_presentations, s.presentations),
    unproven_bound_presentations: count(s.unproven_bound_presentations, s.bound_presentations),
  }
}
