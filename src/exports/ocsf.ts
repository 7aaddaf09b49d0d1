/**
 * Findings as OCSF Detection Finding events (class 2004, category 2 Findings), schema version
 * OCSF_VERSION (https://schema.ocsf.io/1.3.0/classes/detection_finding), one JSON object per line.
 *
 * - `activity_id`: 1 Create (never triaged), 2 Update (triaged, still open or acknowledged),
 *   3 Close (resolved or a false positive); `type_uid` = 2004 * 100 + activity_id.
 * - `status_id` (the finding's lifecycle): open 1 New, acknowledged 2 In Progress,
 *   false_positive 3 Suppressed, resolved 4 Resolved.
 * - `severity_id`: low 2, medium 3, high 4, critical 5 (OCSF: 1 Informational ... 5 Critical).
 * - `finding_info`: `uid` the finding id, `title`, `desc` (the rule's title), `types` (the rule
 *   id), `analytic` (the rule: type_id 1 Rule), `first_seen_time` / `last_seen_time` (epoch ms).
 * - `time` the first occurrence, `start_time` / `end_time` the first and last, `count` the
 *   occurrences; `resources` the protected resource when the finding names one.
 * - What OCSF has no attribute for (tenant, key values, evidence, triage, exception, framework
 *   mappings) goes under `unmapped`, as the schema provides for.
 */
import type { ExportFinding, Producer } from './finding.js'

export const OCSF_VERSION = '1.3.0'
export const DETECTION_FINDING = 2004

const SEVERITY_ID: Readonly<Record<string, number>> = { low: 2, medium: 3, high: 4, critical: 5 }
const SEVERITY_NAME = ['Unknown', 'Informational', 'Low', 'Medium', 'High', 'Critical']
const STATUS: Readonly<Record<string, [number, string]>> = {
  open: [1, 'New'],
  acknowledged: [2, 'In Progress'],
  false_positive: [3, 'Suppressed'],
  resolved: [4, 'Resolved'],
}
const ACTIVITY = ['Unknown', 'Create', 'Update', 'Close']

function activityOf(f: ExportFinding): number {
  if (f.status === 'resolved' || f.status === 'false_positive') return 3
  return f.updated_at === null ? 1 : 2
}

export function ocsfFinding(f: ExportFinding, producer: Producer) {
  const activity = activityOf(f)
  const severity = SEVERITY_ID[f.severity] ?? 0
  const [statusId, status] = STATUS[f.status] ?? [0, 'Unknown']
  const first = Date.parse(f.first_seen)
  const last = Date.parse(f.last_seen)
  return {
    class_uid: DETECTION_FINDING,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activity,
    activity_name: ACTIVITY[activity],
    type_uid: DETECTION_FINDING * 100 + activity,
    type_name: `Detection Finding: ${ACTIVITY[activity]}`,
    severity_id: severity,
    severity: SEVERITY_NAME[severity],
    status_id: statusId,
    status,
    is_alert: activity !== 3,
    time: first,
    start_time: first,
    end_time: last,
    count: f.count,
    message: f.title,
    metadata: {
      version: OCSF_VERSION,
      uid: f.id,
      product: { name: producer.name, vendor_name: producer.name, version: producer.version },
      ...(f.updated_at ? { modified_time: Date.parse(f.updated_at) } : {}),
    },
    finding_info: {
      uid: f.id,
      title: f.title,
      desc: f.title,
      types: [f.rule_id],
      analytic: { uid: f.rule_id, name: f.title, type_id: 1, type: 'Rule' },
      first_seen_time: first,
      last_seen_time: last,
      ...(f.updated_at ? { modified_time: Date.parse(f.updated_at) } : {}),
    },
    ...(f.keys.resource
      ? {
          resources: [
            { uid: f.keys.resource, name: f.keys.resource, type: 'OAuth protected resource' },
          ],
        }
      : {}),
    unmapped: {
      tenant: f.tenant,
      keys: f.keys,
      evidence: f.evidence,
      mappings: f.mappings,
      assignee: f.assignee,
      note: f.note,
      updated_by: f.updated_by,
      exception: f.exception,
    },
  }
}
