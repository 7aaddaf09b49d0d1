/**
 * Compliance reports (docs/spec/product.md): every report framework's controls with their evidence
 * metrics and findings, decided pass / fail / no_evidence, rendered as JSON, CSV or HTML.
 */
export { buildComplianceReport, type ReportOptions, type ReportProgress } from './build.js'
export {
  FRAMEWORK_IDS,
  type Control,
  type Framework,
  type FrameworkId,
  type Source,
} from './control.js'
export { FRAMEWORKS } from './frameworks.js'
export {
  DEFAULT_THRESHOLDS,
  METRIC_IDS,
  METRICS,
  type MetricId,
  type Threshold,
} from './metrics.js'
export { canonicalJson } from '../events/canonical.js'
export {
  loadSigningKey,
  loadVerifyingKey,
  reportDigest,
  sealReport,
  verifyReport,
  type ReportIntegrity,
  type Verification,
} from './integrity.js'
export { CONTENT_TYPES, renderReport, renderReportFile, type RenderedReport } from './render.js'
export { DEFAULT_FINDING_LINK, HTML_LIMITS, type HtmlOptions } from './render-html.js'
export {
  MAX_PERIOD_DAYS,
  REPORT_FORMATS,
  ReportRequest,
  reportPeriod,
  type ReportFormat,
} from './request.js'
export { ComplianceReport } from './schema.js'
export { DECISION_RULE, decideStatus, type ControlStatus } from './status.js'
