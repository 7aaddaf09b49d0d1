/**
 * Findings as CSV (RFC 4180): a header row, then one row per finding, CRLF line ends, fields with
 * a comma, quote, CR or LF quoted, quotes doubled. A cell a spreadsheet would read as a formula
 * (starting with = + - @, a tab or CR: OWASP, CSV Injection) is prefixed with a single quote, as
 * the compliance report's CSV does (reports/render-csv.ts, csvCell). Key values that are not
 * columns of their own and the framework mappings are JSON text in one cell each.
 */
import { csvCell } from '../reports/render-csv.js'
import type { ExportFinding } from './finding.js'

export const FINDING_CSV_COLUMNS = [
  'id',
  'tenant',
  'rule_id',
  'severity',
  'status',
  'title',
  'first_seen',
  'last_seen',
  'count',
  'client_id',
  'resource',
  'token_key',
  'keys',
  'assignee',
  'note',
  'updated_by',
  'updated_at',
  'exception_id',
  'exception_reason',
  'mappings',
] as const

const line = (cells: readonly (string | number)[]) => `${cells.map(csvCell).join(',')}\r\n`

export const csvHeader = (): string => line(FINDING_CSV_COLUMNS)

export function csvRow(f: ExportFinding): string {
  return line([
    f.id,
    f.tenant,
    f.rule_id,
    f.severity,
    f.status,
    f.title,
    f.first_seen,
    f.last_seen,
    f.count,
    f.keys.client_id ?? '',
    f.keys.resource ?? '',
    f.keys.token_key ?? '',
    JSON.stringify(f.keys),
    f.assignee,
    f.note,
    f.updated_by ?? '',
    f.updated_at ?? '',
    f.exception?.id ?? '',
    f.exception?.reason ?? '',
    JSON.stringify(f.mappings),
  ])
}
