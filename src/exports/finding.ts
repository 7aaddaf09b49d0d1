import { createRequire } from 'node:module'

/**
 * What the exports read: a finding as the API presents it (RFC 3339 times, evidence and mappings
 * parsed, its triage fields). The API route and the CLI build these from storage; the format
 * modules (csv.ts, ocsf.ts, ecs.ts) map them, one line (or CSV row) per finding.
 */
export interface ExportFinding {
  id: string
  tenant: string
  rule_id: string
  title: string
  severity: string
  status: string
  /** RFC 3339 UTC */
  first_seen: string
  /** RFC 3339 UTC */
  last_seen: string
  count: number
  keys: Readonly<Record<string, string>>
  evidence: Readonly<Record<string, unknown>>
  mappings: Readonly<Record<string, readonly string[]>>
  note: string
  assignee: string
  updated_by: string | null
  /** RFC 3339 UTC, or null (never triaged) */
  updated_at: string | null
  exception: { id: string; reason: string } | null
}

/** Who produced the export (the product's name and version in OCSF metadata and ECS). */
export interface Producer {
  name: string
  version: string
}

/** audtrail, at the version of its package.json. */
export const PRODUCER: Producer = {
  name: 'audtrail',
  version: (createRequire(import.meta.url)('../../package.json') as { version: string }).version,
}
