/** What the rules that judge one presentation on its own share: one finding per token at a resource for a client. */
import type { EventRow } from '../../../events/event-row.js'
import type { Detection } from '../../rule.js'
import { detect, isPresentation } from './rows.js'

/** The dedup key of those rules: the token, the resource it was presented at, the client. */
export const TOKEN_AT_RESOURCE: readonly string[] = ['token_key', 'resource', 'client_id']

/** A presentation the resource server answered with `decision`. */
export function presentedWith(row: EventRow, decision: 'accepted' | 'rejected'): boolean {
  return isPresentation(row) && row.decision === decision
}

/** A detection keyed by `TOKEN_AT_RESOURCE`, with the row's canonical resource. */
export function detectAtResource(row: EventRow, evidence: Record<string, unknown>): Detection {
  return detect(
    row,
    { token_key: row.token_key, resource: row.resource_canonical, client_id: row.client_id },
    evidence,
  )
}
