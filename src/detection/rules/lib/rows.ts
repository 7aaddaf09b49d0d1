/** Helpers shared by the event rules: building a detection, reading attributes, token facts. */
import type { EventRow } from '../../../events/event-row.js'
import type { Detection, Severity } from '../../rule.js'
import { rowTime, type TokenState } from '../../token-state.js'

export function detect(
  row: EventRow,
  keys: Record<string, string>,
  evidence: Record<string, unknown>,
  options: { severity?: Severity; eventIds?: readonly string[] } = {},
): Detection {
  const earlier = (options.eventIds ?? []).filter((id) => id !== row.event_id)
  return {
    tenant: row.tenant,
    ...(options.severity !== undefined && { severity: options.severity }),
    keys,
    evidence,
    eventIds: [...earlier, row.event_id],
    at: rowTime(row.occurred_at),
  }
}

/** An attribute's JSON value (rows keep attributes JSON-encoded); undefined when absent or bad. */
export function attribute(row: EventRow, name: string): unknown {
  const raw = row.attributes[name]
  if (raw === undefined) return undefined
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return undefined
  }
}

export function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined
}

export function isPresentation(row: EventRow): boolean {
  return row.event_type === 'token.presented'
}

export function isIssuance(row: EventRow): boolean {
  return row.event_type === 'token.issued' || row.event_type === 'token.exchanged'
}

/** What the AS minted, as seen at issuance or, failing that, on the token's first presentation. */
export interface MintedToken {
  via: 'issued' | 'presented'
  /** raw audiences */
  aud: string[]
  scopes: string[]
  iat: number | null
  exp: number | null
}

/**
 * The minted token's facts on its issuance event, or on its first presentation when issuance was
 * never seen (no state yet): posture rules then judge each token once, not once per request.
 */
export function mintedToken(row: EventRow, state: TokenState | undefined): MintedToken | undefined {
  if (isIssuance(row)) {
    return {
      via: 'issued',
      aud: row.granted_aud.length > 0 ? row.granted_aud : row.token_aud,
      scopes: row.granted_scopes.length > 0 ? row.granted_scopes : row.token_scopes,
      iat: row.token_iat,
      exp: row.token_exp,
    }
  }
  if (isPresentation(row) && row.token_key !== '' && state === undefined) {
    return {
      via: 'presented',
      aud: row.token_aud.length > 0 ? row.token_aud : row.presented_aud,
      scopes: row.token_scopes,
      iat: row.token_iat,
      exp: row.token_exp,
    }
  }
  return undefined
}

/** What an analyst needs from one presentation: the resource and `aud`, raw and canonical. */
export function presentationEvidence(row: EventRow): Record<string, unknown> {
  return {
    event_id: row.event_id,
    occurred_at: row.occurred_at,
    resource: row.resource,
    resource_canonical: row.resource_canonical,
    presented_aud: row.presented_aud,
    presented_aud_canonical: row.presented_aud_canonical,
    aud_match: row.aud_match,
    aud_validated: row.aud_validated,
    decision: row.decision,
    reason: row.reason,
    token_key: row.token_key,
    client_id: row.client_id,
    subject: row.subject,
    source_id: row.source_id,
    ip: row.network_ip,
    ...(row.tool_method !== '' && { tool: { method: row.tool_method, name: row.tool_name } }),
  }
}
