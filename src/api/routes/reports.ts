/**
 * Compliance reports for viewers: `GET /v1/reports/compliance?framework=&since=&until=&format=`.
 * `framework` is one of the six or `all` (every framework in one report); the period is at most
 * MAX_PERIOD_DAYS (default: the 30 days before now); `format` is json (the default, the
 * ComplianceReport schema), csv or html (both as attachments with a file name). Tenant-bound.
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
        description: 'the report; csv and html come as attachments (Content-Disposition)',
        schema: ComplianceReport,
        content: { 'text/csv': { type: 'string' }, 'text/html': { type: 'string' } },
      },
    },
    handler: async ({ reply, caller, query, deps: { storage, authenticate } }) => {
      const { framework, format, tenant } = query
      const period = reportPeriod(query)
      // A slot of the tenant's expensive work, and a token per day of the period (fairness.ts).
      const release = fairnessOf(authenticate).admitReport(tenantOf(caller, tenant), period)
      let report
      try {
        report = await buildComplianceReport(storage, {
          tenant: tenantOf(caller, tenant),
          framework,
          ...period,
        })
      } finally {
        release()
      }
      if (format === 'json') return report
      const file = renderReportFile(report, format)
      return reply
        .type(file.contentType)
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(file.body)
    },
  }),
]
