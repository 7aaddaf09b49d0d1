/**
 * Compliance reports for viewers: `GET /v1/reports/compliance?framework=&since=&until=&format=`.
 * `framework` is one of the six or `all` (every framework in one report); the period is at most
 * MAX_PERIOD_DAYS (default: the 30 days before now); `format` is json (the default, the
 * ComplianceReport schema), csv (an attachment) or html (shown inline, with download links
 * beside it); `download=1` sends any format as an attachment with its file name. Tenant-bound.
 * With AUDTRAIL_REPORT_SIGNING_KEY the JSON report carries a JWS over its digest.
 */
import { z } from 'zod'
import { buildComplianceReport } from '../../reports/build.js'
import { renderReportFile } from '../../reports/render.js'
import { checkPeriod, REPORT_REQUEST_SHAPE, reportPeriod } from '../../reports/request.js'
import { ComplianceReport } from '../../reports/schema.js'
import { fairnessOf } from '../fairness.js'
import { TenantParam, tenantOf } from '../params.js'
import { defineRoute } from '../route.js'

export const ReportQuery = z
  .strictObject({ ...REPORT_REQUEST_SHAPE, tenant: TenantParam })
  .superRefine((v, ctx) => checkPeriod(v, ctx))

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/reports/compliance',
    operationId: 'getV1ReportsCompliance',
    summary: 'Compliance report: controls of one framework (or all) with status, metrics, findings',
    role: 'viewer',
    serves: 'queries',
    query: ReportQuery,
    responses: {
      200: {
        description:
          'the report; html is shown inline, csv and any format with download=1 come as attachments (Content-Disposition)',
        schema: ComplianceReport,
        content: { 'text/csv': { type: 'string' }, 'text/html': { type: 'string' } },
      },
    },
    handler: async ({
      reply,
      caller,
      query,
      deps: { storage, authenticate, reportSigningKey, reportThresholds },
    }) => {
      const { framework, format, tenant, download } = query
      const period = reportPeriod(query)
      // A slot of the tenant's expensive work, and a token per day of the period (fairness.ts).
      const release = fairnessOf(authenticate).admitReport(tenantOf(caller, tenant), period)
      let report
      try {
        report = await buildComplianceReport(storage, {
          tenant: tenantOf(caller, tenant),
          framework,
          ...period,
          signingKey: reportSigningKey,
          thresholds: reportThresholds,
        })
      } finally {
        release()
      }
      if (format === 'json' && download !== '1') return report
      // The same report as a file: its period fixed, so a download matches what is shown.
      const link = (as: string) =>
        `/v1/reports/compliance?${new URLSearchParams({
          framework,
          since: report.period.since,
          until: report.period.until,
          format: as,
          ...(tenant ? { tenant } : {}),
          download: '1',
        }).toString()}`
      const file = renderReportFile(
        report,
        format,
        format === 'html'
          ? {
              downloads: [
                { label: 'Download HTML', href: link('html') },
                { label: 'JSON (with digest)', href: link('json') },
                { label: 'CSV', href: link('csv') },
              ],
            }
          : {},
      )
      const disposition = download === '1' || format === 'csv' ? 'attachment' : 'inline'
      return reply
        .type(file.contentType)
        .header('content-disposition', `${disposition}; filename="${file.fileName}"`)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(file.body)
    },
  }),
]
