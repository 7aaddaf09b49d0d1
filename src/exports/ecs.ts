/**
 * Findings as Elastic Common Schema documents, ECS_VERSION
 * (https://www.elastic.co/guide/en/ecs/8.11/index.html), one JSON object per line, for an index
 * or data stream of alerts from an external detector.
 *
 * - `event.kind: alert` (an alert triggered by a detection rule executing outside the Elastic
 *   Stack), `event.category: [intrusion_detection]`, `event.type: [info]`, `event.id` the finding
 *   id, `event.start` / `event.end` its first and last occurrence, `@timestamp` the last.
 * - `event.severity` the severity rank (1 low ... 4 critical) and `event.risk_score` 21 / 47 / 73
 *   / 99 (the usual low / medium / high / critical scores of Elastic Security rules).
 * - `rule.id`, `rule.name`, `rule.ruleset` (audtrail) and `rule.version` (its version);
 *   `organization.id` the tenant; `url.original` the protected resource when named.
 * - The rest (key values, evidence, status, triage, exception) under the custom `audtrail.*`
 *   field set, as ECS reserves no name for it.
 */
import type { ExportFinding, Producer } from './finding.js'

export const ECS_VERSION = '8.11.0'

const RANK: Readonly<Record<string, number>> = { low: 1, medium: 2, high: 3, critical: 4 }
const RISK = [0, 21, 47, 73, 99]

export function ecsFinding(f: ExportFinding, producer: Producer) {
  const rank = RANK[f.severity] ?? 0
  return {
    '@timestamp': f.last_seen,
    ecs: { version: ECS_VERSION },
    message: f.title,
    tags: [producer.name, f.rule_id],
    event: {
      kind: 'alert',
      category: ['intrusion_detection'],
      type: ['info'],
      id: f.id,
      module: producer.name,
      dataset: `${producer.name}.findings`,
      provider: producer.name,
      severity: rank,
      risk_score: RISK[rank],
      start: f.first_seen,
      end: f.last_seen,
    },
    rule: {
      id: f.rule_id,
      name: f.title,
      ruleset: producer.name,
      version: producer.version,
    },
    organization: { id: f.tenant },
    ...(f.keys.resource ? { url: { original: f.keys.resource } } : {}),
    audtrail: {
      severity: f.severity,
      status: f.status,
      count: f.count,
      keys: f.keys,
      evidence: f.evidence,
      mappings: f.mappings,
      assignee: f.assignee,
      note: f.note,
      updated_by: f.updated_by,
      updated_at: f.updated_at,
      exception: f.exception,
    },
  }
}
