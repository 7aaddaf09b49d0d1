/**
 * An export of findings as text, page by page: the caller hands pages read from storage in turn
 * (never the whole set at once), this yields the text of each page in the chosen format. NDJSON
 * is the findings as the API answers them; ocsf and ecs are NDJSON of their mappings (ocsf.ts,
 * ecs.ts); csv has a header row first (csv.ts).
 */
import { csvHeader, csvRow } from './csv.js'
import { ecsFinding } from './ecs.js'
import type { ExportFinding, Producer } from './finding.js'
import { ocsfFinding } from './ocsf.js'

export const EXPORT_FORMATS = ['ndjson', 'csv', 'ocsf', 'ecs'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** The media type and file extension of each format. */
export const EXPORT_MEDIA: Readonly<Record<ExportFormat, { type: string; extension: string }>> = {
  ndjson: { type: 'application/x-ndjson', extension: 'ndjson' },
  csv: { type: 'text/csv; charset=utf-8', extension: 'csv' },
  ocsf: { type: 'application/x-ndjson', extension: 'ocsf.ndjson' },
  ecs: { type: 'application/x-ndjson', extension: 'ecs.ndjson' },
}

/** One finding's text in a format (a CSV row, or a JSON line). */
export function formatFinding(f: ExportFinding, format: ExportFormat, producer: Producer): string {
  switch (format) {
    case 'csv':
      return csvRow(f)
    case 'ocsf':
      return `${JSON.stringify(ocsfFinding(f, producer))}\n`
    case 'ecs':
      return `${JSON.stringify(ecsFinding(f, producer))}\n`
    case 'ndjson':
      return `${JSON.stringify(f)}\n`
  }
}

/** The text of an export, a chunk per page (a CSV's header first, even with no findings). */
export async function* exportChunks(
  pages: AsyncIterable<readonly ExportFinding[]>,
  format: ExportFormat,
  producer: Producer,
): AsyncGenerator<string> {
  if (format === 'csv') yield csvHeader()
  for await (const page of pages)
    if (page.length > 0) yield page.map((f) => formatFinding(f, format, producer)).join('')
}
