/**
 * A stored event as an OCSF API Activity event (class 6003, category 6 Application Activity),
 * schema version OCSF_VERSION (https://schema.ocsf.io/1.3.0/classes/api_activity), for
 * `audtrail export events --format ocsf` (events.ts).
 *
 * - `activity_id` 99 Other (a token presented, minted, refused: no CRUD verb), `activity_name` the
 *   event type; `type_uid` = 6003 * 100 + 99.
 * - `status_id`: decision accepted 1 Success, rejected 2 Failure, otherwise 0 Unknown.
 * - `time` occurred_at, `metadata.logged_time` received_at (epoch ms), `metadata.uid` the event id.
 * - `actor.app_name` the OAuth client, `actor.user.uid` the subject, `api.operation` the tool
 *   method (or the HTTP method), `api.service.name` the resource, `src_endpoint.ip`.
 * - `unmapped.integrity`: the chain link in the names of OCSF's proposed record integrity profile
 *   (`chain_uid`, `seq`, `prev_event`, `hash`); `unmapped.audtrail_event`: the stored row whole,
 *   which the link is computed over and which offline verification reads (events-file.ts checks
 *   that every other attribute is the mapping of that row, so an edit anywhere is seen).
 */
import type { Producer } from './finding.js'
import { OCSF_VERSION } from './ocsf.js'

export const API_ACTIVITY = 6003

/** received_at/occurred_at as stored (`2026-12-07 19:00:01.234`, UTC) to epoch ms. */
function ms(stamp: unknown): number | undefined {
  if (typeof stamp !== 'string' || stamp === '') return undefined
  const t = Date.parse(`${stamp.replace(' ', 'T')}Z`)
  return Number.isFinite(t) ? t : undefined
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

export function ocsfEvent(row: Readonly<Record<string, unknown>>, producer: Producer) {
  const decision = row.decision
  const [statusId, status] =
    decision === 'accepted'
      ? [1, 'Success']
      : decision === 'rejected'
        ? [2, 'Failure']
        : [0, 'Unknown']
  const subject = text(row.subject)
  const resource = text(row.resource)
  const ip = text(row.network_ip)
  return {
    class_uid: API_ACTIVITY,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: 99,
    activity_name: String(row.event_type),
    type_uid: API_ACTIVITY * 100 + 99,
    type_name: 'API Activity: Other',
    severity_id: 1,
    severity: 'Informational',
    status_id: statusId,
    status,
    time: ms(row.occurred_at),
    metadata: {
      version: OCSF_VERSION,
      uid: row.event_id,
      logged_time: ms(row.received_at),
      tenant_uid: row.tenant,
      product: { name: producer.name, vendor_name: producer.name, version: producer.version },
    },
    actor: {
      app_name: text(row.client_id),
      ...(subject !== undefined && { user: { uid: subject } }),
    },
    api: {
      operation: text(row.tool_method) ?? text(row.http_method) ?? String(row.event_type),
      ...(resource !== undefined && { service: { name: resource } }),
    },
    ...(ip !== undefined && { src_endpoint: { ip } }),
    unmapped: {
      integrity: {
        chain_uid: row.chain_id,
        seq: row.chain_seq,
        prev_event: row.chain_prev,
        hash: row.chain_hash,
      },
      audtrail_event: row,
    },
  }
}

/** The row an OCSF line carries, if it is one of ours (`unmapped.audtrail_event`). */
export function rowOfOcsf(
  value: Readonly<Record<string, unknown>>,
): { row: Record<string, unknown>; producer: Producer } | undefined {
  if (value.class_uid !== API_ACTIVITY) return undefined
  const row = (value.unmapped as { audtrail_event?: unknown } | undefined)?.audtrail_event
  const product = (value.metadata as { product?: Partial<Producer> } | undefined)?.product
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return undefined
  return {
    row: row as Record<string, unknown>,
    producer: { name: String(product?.name), version: String(product?.version) },
  }
}
