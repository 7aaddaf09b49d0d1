/** renderReport: a report in one of the three formats, with its media type and a file name. */
import { reportFileName } from './format.js'
import { renderCsv } from './render-csv.js'
import { renderHtml, type HtmlOptions } from './render-html.js'
import type { ReportFormat } from './request.js'
import type { ComplianceReport } from './schema.js'

export const CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  html: 'text/html; charset=utf-8',
}

export function renderReport(
  report: ComplianceReport,
  format: ReportFormat,
  html: HtmlOptions = {},
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`
    case 'csv':
      return renderCsv(report)
    case 'html':
      return renderHtml(report, html)
  }
}

export interface RenderedReport {
  body: string
  contentType: string
  fileName: string
}

export function renderReportFile(
  report: ComplianceReport,
  format: ReportFormat,
  html: HtmlOptions = {},
): RenderedReport {
  return {
    body: renderReport(report, format, html),
    contentType: CONTENT_TYPES[format],
    fileName: reportFileName(report, format),
  }
}
