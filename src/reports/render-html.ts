/**
 * The printable HTML rendering: one self-contained document (inline CSS with `@media print`, no
 * scripts, no external resources or links; a CSP meta tag forbids loading anything), every value
 * HTML-escaped. Findings are linked by id within the document.
 */
import { citeSource } from './control.js'
import { formatThreshold, formatValue } from './format.js'
import type { ComplianceReport, ReportControl, ReportMetric } from './schema.js'

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

/** Anchor ids from finding ids (hex) or anything else, always a safe token. */
const anchor = (prefix: string, id: string) => `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;margin:2rem auto;max-width:72rem;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.25rem;margin:2rem 0 .6rem;border-bottom:2px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.badge{display:inline-block;border-radius:.8rem;padding:.05rem .55rem;font-weight:600;font-size:.85em;white-space:nowrap}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}.no_evidence{background:#eaeef2;color:#57606a}.informational{background:#ddf4ff;color:#0550ae}
.muted{color:#57606a}ul{margin:0;padding-left:1.1rem}blockquote{margin:.3rem 0;padding-left:.6rem;border-left:3px solid #d0d7de;color:#57606a}
@media print{body{margin:0;max-width:none;font-size:10.5pt}h2{break-after:avoid}tr,blockquote{break-inside:avoid}section.framework{break-before:page}a{color:inherit;text-decoration:none}}
`

const badge = (status: string) =>
  `<span class="badge ${escapeHtml(status)}">${escapeHtml(status.replace('_', ' '))}</span>`

function metricItem(m: ReportMetric): string {
  const threshold = formatThreshold(m)
  return `<li>${escapeHtml(m.title)}: <strong>${escapeHtml(formatValue(m.unit, m.value))}</strong>${
    threshold ? ` <span class="muted">(${escapeHtml(threshold)})</span>` : ''
  } ${badge(m.status)}</li>`
}

function controlRow(c: ReportControl, metrics: Map<string, ReportMetric>): string {
  const cite = c.citation
    ? `<div class="muted">MCP ${escapeHtml(c.citation.revision)} · <span class="mono">${escapeHtml(c.citation.url)}</span></div>${
        c.citation.quote ? `<blockquote>${escapeHtml(c.citation.quote)}</blockquote>` : ''
      }`
    : ''
  const findings = c.findings.length
    ? `<ul>${c.findings.map((id) => `<li><a class="mono" href="#${anchor('finding', id)}">${escapeHtml(id)}</a></li>`).join('')}</ul>`
    : ''
  const more =
    c.finding_count > c.findings.length
      ? `<div class="muted">${escapeHtml(c.finding_count)} in total</div>`
      : ''
  return `<tr><td class="mono">${escapeHtml(c.id)}</td><td>${escapeHtml(c.title)}${cite}${
    c.note ? `<div class="muted">${escapeHtml(c.note)}</div>` : ''
  }</td><td>${badge(c.status)}<div class="muted">${escapeHtml(c.reason)}</div></td><td><ul>${c.metrics
    .map((id) => metricItem(metrics.get(id)!))
    .join(
      '',
    )}</ul></td><td class="mono">${escapeHtml(c.rules.join(', '))}</td><td>${findings}${more}</td></tr>`
}

export function renderHtml(report: ComplianceReport): string {
  const metrics = new Map(report.metrics.map((m) => [m.id, m]))
  const e = escapeHtml
  const summary = report.frameworks
    .map(
      (f) =>
        `<tr><td><a href="#${anchor('framework', f.id)}">${e(f.title)}</a></td><td>${e(f.summary.controls)}</td><td>${e(f.summary.pass)}</td><td>${e(f.summary.fail)}</td><td>${e(f.summary.no_evidence)}</td></tr>`,
    )
    .join('')
  const frameworks = report.frameworks
    .map(
      (f) => `<section class="framework" id="${anchor('framework', f.id)}"><h2>${e(f.title)}</h2>
<p class="muted">${e(f.id)} · ids and titles from ${e(citeSource(f.source))} · ${e(f.summary.pass)} pass, ${e(f.summary.fail)} fail, ${e(f.summary.no_evidence)} no evidence</p>
<table><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Evidence metrics</th><th>Rules</th><th>Findings</th></tr></thead>
<tbody>${f.controls.map((c) => controlRow(c, metrics)).join('\n')}</tbody></table></section>`,
    )
    .join('\n')
  const metricRows = report.metrics
    .map(
      (m) =>
        `<tr><td class="mono">${e(m.id)}</td><td>${e(m.title)}<div class="muted">${e(m.description)}</div></td><td>${e(formatValue(m.unit, m.value))}</td><td>${e(formatThreshold(m))}</td><td>${e(m.basis)} ${e(m.basis_description)}</td><td>${badge(m.status)}</td></tr>`,
    )
    .join('')
  const drift = report.drifted_resources
    .map(
      (d) =>
        `<tr><td class="mono">${e(d.drift_key)}</td><td><ul>${d.spellings.map((s) => `<li class="mono">${e(s)}</li>`).join('')}</ul></td></tr>`,
    )
    .join('')
  const findings = report.findings
    .map(
      (f) =>
        `<tr id="${anchor('finding', f.id)}"><td class="mono">${e(f.id)}</td><td class="mono">${e(f.rule_id)}</td><td>${e(f.title)}</td><td>${e(f.severity)}</td><td>${e(f.status)}</td><td><ul>${Object.entries(
          f.keys,
        )
          .map(
            ([k, v]) =>
              `<li><span class="muted">${e(k)}</span> <span class="mono">${e(v)}</span></li>`,
          )
          .join(
            '',
          )}</ul></td><td>${e(f.period_occurrences)}</td><td>${e(f.period_first_seen)}<br>${e(f.period_last_seen)}</td></tr>`,
    )
    .join('\n')
  const counts = report.finding_counts
    .map(
      (c) =>
        `<tr><td class="mono">${e(c.rule_id)}</td><td>${e(c.severity)}</td><td>${e(c.status)}</td><td>${e(c.findings)}</td><td>${e(c.occurrences)}</td></tr>`,
    )
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>audtrail compliance report: ${e(report.tenant)}</title>
<style>${CSS}</style></head><body>
<header><h1>Compliance report</h1>
<p>Tenant <strong>${e(report.tenant)}</strong> · period ${e(report.period.since)} to ${e(report.period.until)} (until exclusive) · generated ${e(report.generated_at)} by audtrail</p></header>
<section id="status-rule"><h2>How status is decided</h2><ol>${report.status_rule.map((s) => `<li>${e(s)}</li>`).join('')}</ol></section>
<section id="summary"><h2>Summary</h2><table><thead><tr><th>Framework</th><th>Controls</th><th>Pass</th><th>Fail</th><th>No evidence</th></tr></thead><tbody>${summary}</tbody></table></section>
${frameworks}
<section id="metrics"><h2>Evidence metrics</h2><table><thead><tr><th>Metric</th><th>What</th><th>Value</th><th>Threshold</th><th>Basis</th><th>Status</th></tr></thead><tbody>${metricRows}</tbody></table></section>
<section id="drift"><h2>Drifted resources</h2>${drift ? `<table><thead><tr><th>Drift key</th><th>Raw spellings</th></tr></thead><tbody>${drift}</tbody></table>` : '<p class="muted">none in the period</p>'}</section>
<section id="findings"><h2>Findings in the period</h2>
<table><thead><tr><th>Rule</th><th>Severity</th><th>Status</th><th>Findings</th><th>Occurrences</th></tr></thead><tbody>${counts}</tbody></table>
${findings ? `<table><thead><tr><th>Id</th><th>Rule</th><th>Title</th><th>Severity</th><th>Status</th><th>Keys</th><th>Occurrences</th><th>First / last in period</th></tr></thead><tbody>${findings}</tbody></table>` : '<p class="muted">no findings in the period</p>'}
${report.findings_truncated ? '<p class="muted">More findings occurred than this report lists; the counts above are complete.</p>' : ''}</section>
</body></html>
`
}
