/**
 * The printable HTML rendering: one self-contained document (inline CSS with `@media print`, no
 * scripts, no external resources; a CSP meta tag forbids loading anything), every value
 * HTML-escaped and inline Markdown rendered safely (text.ts).
 *
 * A summary, not a list: per control its status in words, its metrics against their thresholds,
 * its findings counted by rule, severity and triage status, the few most severe findings linked
 * to the console, and for a failing control sample events. Every list has a cap
 * (HTML_LIMITS), so the document's size does not grow with the number of findings, events or
 * sources; the full lists are in the JSON (and the CSV). Control ids never break across lines.
 */
import { citeSource } from './control.js'
import {
  formatCount,
  formatThreshold,
  formatValue,
  metricSentence,
  STATUS_WORDS,
} from './format.js'
import type {
  ComplianceReport,
  ReportControl,
  ReportFramework,
  ReportMetric,
  ReportSampleEvent,
} from './schema.js'
import { escapeHtml, inlineMarkdown } from './text.js'

export { escapeHtml } from './text.js'

/** The caps of every list in the HTML; the JSON carries the full lists. */
export const HTML_LIMITS = {
  /** Most severe findings linked per control. */
  topFindings: 5,
  /** Sample events per failing control. */
  samples: 5,
  sources: 100,
  closedFindings: 50,
  /** Characters of a closed finding's note. */
  noteChars: 500,
  driftedResources: 50,
  spellings: 10,
} as const

/**
 * The default link of a finding to the console: a relative URL, so it follows the host the report
 * was served from. `{id}` is replaced by the URL-encoded finding id.
 */
export const DEFAULT_FINDING_LINK = '/#/findings/{id}'

/** A link template the HTML accepts: http(s) or a path on the serving host, never `javascript:`. */
export function isSafeLinkTemplate(template: string): boolean {
  return /^(https?:\/\/|\/|#)/i.test(template) && !/[\s"'<>`\\]/.test(template)
}

export interface HtmlOptions {
  /** URL template of a finding in the console (`{id}`); default DEFAULT_FINDING_LINK. */
  findingLink?: string
  /** Links shown beside the title (not printed), e.g. the report as a download or as JSON. */
  downloads?: readonly { label: string; href: string }[]
}

const e = escapeHtml
const md = inlineMarkdown

/** Anchor ids from anything, always a safe token. */
const anchor = (prefix: string, id: string) => `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`

const CSS = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;margin:2rem auto;max-width:72rem;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.25rem;margin:2rem 0 .6rem;border-bottom:2px solid #d0d7de;padding-bottom:.2rem}
h3{font-size:1.02rem;margin:0 0 .3rem;display:flex;flex-wrap:wrap;gap:.2rem .6rem;align-items:baseline}
table{border-collapse:collapse;width:100%;margin:.4rem 0 .8rem}th,td{border:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}thead{display:table-header-group}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
.mono,.wrap{overflow-wrap:anywhere}
.cid{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600;white-space:nowrap;word-break:keep-all;overflow-wrap:normal;hyphens:none}
.badge{display:inline-block;border-radius:.8rem;padding:.05rem .55rem;font-weight:600;font-size:.85em;white-space:nowrap}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}.no_evidence{background:#eaeef2;color:#57606a}.informational{background:#ddf4ff;color:#0550ae}
.muted{color:#57606a}.small{font-size:.9em}ul{margin:.2rem 0;padding-left:1.1rem}
blockquote{margin:.3rem 0;padding-left:.6rem;border-left:3px solid #d0d7de;color:#57606a}
.control{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}
.control.c-fail{border-left:5px solid #cf222e}.control.c-pass{border-left:5px solid #1a7f37}.control.c-no_evidence{border-left:5px solid #8c959f}
.nowrap{white-space:nowrap}
.control p{margin:.3rem 0}.digest{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.downloads a{margin-right:1rem}
@page{size:A4;margin:14mm 12mm}
@media print{
body{margin:0;max-width:none;font-size:9.5pt}
.noprint{display:none}
h2,h3{break-after:avoid}
tr,blockquote,.control h3,.control p{break-inside:avoid}
section.framework{break-before:page}
a{color:inherit;text-decoration:none}
.control{border-left-width:3px}
}
`

const badge = (status: string) =>
  `<span class="badge ${e(status)}">${e(STATUS_WORDS[status] ?? status)}</span>`

const cid = (id: string) => `<span class="cid">${e(id)}</span>`

function findingHref(template: string, id: string): string {
  return e(template.replaceAll('{id}', encodeURIComponent(id)))
}

function breakdown(c: ReportControl): string {
  if (c.finding_breakdown.length === 0)
    return c.rules.length
      ? `<p class="muted small">No findings of ${c.rules.map((r) => `<code>${e(r)}</code>`).join(', ')} in the period.</p>`
      : ''
  const rows = c.finding_breakdown
    .map(
      (k) =>
        `<tr><td class="mono">${e(k.rule_id)}</td><td>${e(k.severity)}</td><td>${e(STATUS_WORDS[k.status] ?? k.status)}</td><td>${e(formatCount(k.findings))}</td></tr>`,
    )
    .join('')
  return `<table class="small"><thead><tr><th>Rule</th><th>Severity</th><th>Triage</th><th>Findings</th></tr></thead><tbody>${rows}</tbody></table>`
}

function topFindings(
  c: ReportControl,
  findings: Map<string, ComplianceReport['findings'][number]>,
  link: string,
): string {
  const top = c.findings.slice(0, HTML_LIMITS.topFindings).flatMap((id) => {
    const f = findings.get(id)
    return f ? [f] : []
  })
  if (top.length === 0) return ''
  const items = top
    .map(
      (f) =>
        `<li><a class="mono" href="${findingHref(link, f.id)}">${e(f.id.slice(0, 12))}</a> ${e(f.severity)} · ${md(f.title)} · ${e(formatCount(f.period_occurrences))} occurrence(s), last ${e(f.period_last_seen)}${
          Object.keys(f.keys).length
            ? ` <span class="muted mono">${Object.entries(f.keys)
                .map(([k, v]) => `${e(k)}=${e(v)}`)
                .join(' ')}</span>`
            : ''
        }</li>`,
    )
    .join('')
  const more =
    c.finding_count > top.length
      ? `<p class="muted small">${e(formatCount(c.finding_count - top.length))} more open or acknowledged finding(s): in the JSON and CSV exports and the console.</p>`
      : ''
  return `<p class="small"><strong>Most severe open findings</strong></p><ul class="small">${items}</ul>${more}`
}

function samplesOf(
  c: ReportControl,
  byRule: Map<string, ReportSampleEvent[]>,
): ReportSampleEvent[] {
  // Round robin over the control's rules, so each failing rule shows an example.
  const lists = c.rules.map((r) => byRule.get(r) ?? []).filter((l) => l.length > 0)
  const picked: ReportSampleEvent[] = []
  for (let i = 0; picked.length < HTML_LIMITS.samples && lists.some((l) => i < l.length); i++)
    for (const l of lists)
      if (i < l.length && picked.length < HTML_LIMITS.samples) picked.push(l[i]!)
  return picked
}

/** `2026-10-30 23:59:50Z`: an ISO timestamp to the second, for narrow columns. */
const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')

function sampleTable(samples: readonly ReportSampleEvent[]): string {
  if (samples.length === 0) return ''
  const rows = samples
    .map((s) => {
      const aud = s.presented_aud.length ? s.presented_aud : s.granted_aud
      const resource = s.resource || s.requested_resources.join(' ')
      const outcome = [
        [s.decision, s.reason].filter(Boolean).join(': '),
        s.aud_match ? `aud ${s.aud_match}` : '',
        s.aud_validated === null ? '' : s.aud_validated ? 'aud validated' : 'aud not validated',
        s.http_status === null ? '' : `HTTP ${s.http_status}`,
      ]
        .filter(Boolean)
        .join(', ')
      return `<tr><td class="mono">${e(shortTime(s.occurred_at))}<div class="muted">${e(s.event_type)}</div></td><td class="mono">${e(s.rule_id)}</td><td class="mono">${e(s.source.kind)} ${e(s.source.id)}<div>client ${e(s.client_id)}</div><div class="muted">token key ${e(s.token_key)}</div></td><td class="mono">${e(resource)}${aud.length ? `<div class="muted">aud ${e(aud.join(' '))}</div>` : ''}</td><td>${e(outcome)}${s.tool_method ? `<div class="mono">${e(s.tool_method)}${s.tool_name ? ` ${e(s.tool_name)}` : ''}</div>` : ''}</td></tr>`
    })
    .join('')
  return `<p class="small"><strong>Sample events</strong> <span class="muted">(token keys are audtrail's derived keys, never tokens)</span></p><table class="small"><thead><tr><th>Occurred</th><th>Rule</th><th>Source, client, token</th><th>Resource, audience</th><th>Outcome</th></tr></thead><tbody>${rows}</tbody></table>`
}

function controlBlock(
  c: ReportControl,
  metrics: Map<string, ReportMetric>,
  findings: Map<string, ComplianceReport['findings'][number]>,
  samples: Map<string, ReportSampleEvent[]>,
  link: string,
): string {
  const cite = c.citation
    ? `<p class="muted small">Cited from revision ${e(c.citation.revision)}: <span class="mono">${e(c.citation.url)}</span></p>${
        c.citation.quote ? `<blockquote>${md(c.citation.quote)}</blockquote>` : ''
      }`
    : ''
  const metricItems = c.metrics
    .map((id) => metrics.get(id))
    .filter((m): m is ReportMetric => m !== undefined)
    .map((m) => `<li>${badge(m.status)} ${md(metricSentence(m))}</li>`)
    .join('')
  return `<section class="control c-${e(c.status)}" id="${anchor('control', c.id)}">
<h3>${cid(c.id)} ${badge(c.status)} <span>${md(c.title)}</span></h3>${cite}${c.note ? `<p class="muted small">${md(c.note)}</p>` : ''}
<p>${md(c.reason)}</p>${metricItems ? `<ul class="small">${metricItems}</ul>` : ''}${breakdown(c)}${topFindings(c, findings, link)}${
    c.status === 'fail' ? sampleTable(samplesOf(c, samples)) : ''
  }</section>`
}

function frameworkSection(
  f: ReportFramework,
  metrics: Map<string, ReportMetric>,
  findings: Map<string, ComplianceReport['findings'][number]>,
  samples: Map<string, ReportSampleEvent[]>,
  link: string,
): string {
  const overview = f.controls
    .map(
      (c) =>
        `<tr><td><a href="#${anchor('control', c.id)}">${cid(c.id)}</a></td><td>${md(c.title)}</td><td>${badge(c.status)}</td><td>${e(formatCount(c.finding_count))}</td></tr>`,
    )
    .join('')
  return `<section class="framework" id="${anchor('framework', f.id)}"><h2>${md(f.title)}</h2>
<p class="muted">${e(f.id)} · ids and titles from ${e(citeSource(f.source))} · ${e(f.summary.pass)} pass, ${e(f.summary.fail)} fail, ${e(f.summary.no_evidence)} no evidence</p>
<table><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Open findings</th></tr></thead><tbody>${overview}</tbody></table>
${f.controls.map((c) => controlBlock(c, metrics, findings, samples, link)).join('\n')}</section>`
}

function sourcesSection(r: ComplianceReport): string {
  const row = (s: ComplianceReport['scope']['sources'][number]) =>
    `<tr><td>${e(s.kind)}</td><td class="mono">${e(s.id)}</td><td>${e(formatCount(s.events))}</td><td class="mono">${e(s.last_seen)}</td></tr>`
  const listed = r.scope.sources.slice(0, HTML_LIMITS.sources)
  const silent = r.scope.silent_sources.slice(0, HTML_LIMITS.sources)
  const more = (all: number, shown: number) =>
    all > shown
      ? `<p class="muted small">${e(formatCount(all - shown))} more in the JSON report.</p>`
      : ''
  const head =
    '<thead><tr><th>Kind</th><th>Source</th><th>Events in period</th><th>Last seen</th></tr></thead>'
  return `<section id="scope"><h2>Scope</h2>
<p>Tenant <strong>${e(r.scope.tenant)}</strong>; events that occurred from ${e(r.period.since)} (inclusive) to ${e(r.period.until)} (exclusive).</p>
<p><strong>Sources that reported in the period</strong> (${e(formatCount(r.scope.sources.length))}${r.scope.sources_truncated ? '+' : ''})</p>
${listed.length ? `<table class="small">${head}<tbody>${listed.map(row).join('')}</tbody></table>` : '<p class="muted">none</p>'}${more(r.scope.sources.length, listed.length)}
<p><strong>Sources silent in the period</strong> (seen in the 30 days before it, not in it)</p>
${silent.length ? `<table class="small">${head}<tbody>${silent.map(row).join('')}</tbody></table>` : '<p class="muted">none</p>'}${more(r.scope.silent_sources.length, silent.length)}
</section>`
}

function provenanceSection(r: ComplianceReport): string {
  const p = r.provenance
  const sig = r.integrity.signature
  return `<section id="provenance"><h2>Provenance and integrity</h2><table class="small"><tbody>
<tr><th>Generated</th><td>${e(r.generated_at)} by audtrail ${e(p.audtrail_version)}</td></tr>
<tr><th>Rule set</th><td>${e(formatCount(p.rule_set.rules))} rules, version <span class="digest">${e(p.rule_set.version)}</span></td></tr>
<tr><th>Framework catalog</th><td>version <span class="digest">${e(p.catalog.version)}</span><ul>${p.catalog.frameworks
    .map((f) => `<li>${e(f.id)}: ${e(f.version)}, <span class="mono">${e(f.url)}</span></li>`)
    .join('')}</ul></td></tr>
<tr><th>JSON report digest</th><td>${e(r.integrity.digest_algorithm)} of the JSON report's ${e(r.integrity.canonicalization)} canonical form: <span class="digest">${e(r.integrity.digest)}</span></td></tr>
<tr><th>Signature</th><td>${sig ? `${e(sig.format)}, key id <span class="digest">${e(sig.key_id)}</span>; check with <code>audtrail verify-report FILE.json --key PUBLIC_KEY</code>` : 'not signed (no AUDTRAIL_REPORT_SIGNING_KEY); the digest is checked with <code>audtrail verify-report FILE.json</code>'}</td></tr>
</tbody></table></section>`
}

function closedSection(r: ComplianceReport, link: string): string {
  const shown = r.closed_findings.slice(0, HTML_LIMITS.closedFindings)
  if (shown.length === 0)
    return '<section id="closed"><h2>Closed findings</h2><p class="muted">No finding of the period was resolved or marked a false positive.</p></section>'
  const note = (n: string) =>
    n.length > HTML_LIMITS.noteChars ? `${n.slice(0, HTML_LIMITS.noteChars)}…` : n
  const rows = shown
    .map(
      (f) =>
        `<tr><td><a class="mono" href="${findingHref(link, f.id)}">${e(f.id.slice(0, 12))}</a></td><td class="mono">${e(f.rule_id)}</td><td>${e(f.severity)}</td><td>${e(STATUS_WORDS[f.status] ?? f.status)}</td><td class="mono">${e(f.closed_by)}</td><td class="mono">${e(f.closed_at)}</td><td class="wrap">${f.note ? e(note(f.note)) : '<span class="muted">no note</span>'}</td></tr>`,
    )
    .join('')
  const total = r.closed_findings.length
  return `<section id="closed"><h2>Closed findings</h2>
<p class="muted small">Findings of the period that an analyst resolved or marked a false positive, most recent first: who closed them, when, and why.</p>
<table class="small"><thead><tr><th>Finding</th><th>Rule</th><th>Severity</th><th>Closed as</th><th>By</th><th>When</th><th>Note</th></tr></thead><tbody>${rows}</tbody></table>${
    total > shown.length || r.closed_findings_truncated
      ? `<p class="muted small">${e(formatCount(total - shown.length))}${r.closed_findings_truncated ? '+' : ''} more in the JSON report.</p>`
      : ''
  }</section>`
}

export function renderHtml(report: ComplianceReport, options: HtmlOptions = {}): string {
  const link = options.findingLink ?? DEFAULT_FINDING_LINK
  for (const href of [link, ...(options.downloads ?? []).map((d) => d.href)])
    if (!isSafeLinkTemplate(href))
      throw new TypeError(`renderHtml: unsafe link ${JSON.stringify(href)}`)
  const metrics = new Map(report.metrics.map((m) => [m.id, m]))
  const findings = new Map(report.findings.map((f) => [f.id, f]))
  const samples = new Map<string, ReportSampleEvent[]>()
  for (const s of report.sample_events)
    samples.set(s.rule_id, [...(samples.get(s.rule_id) ?? []), s])

  const summary = report.frameworks
    .map(
      (f) =>
        `<tr><td><a href="#${anchor('framework', f.id)}">${md(f.title)}</a></td><td>${e(f.summary.controls)}</td><td>${e(f.summary.pass)}</td><td>${e(f.summary.fail)}</td><td>${e(f.summary.no_evidence)}</td></tr>`,
    )
    .join('')
  const metricRows = report.metrics
    .map(
      (m) =>
        `<tr><td class="mono">${e(m.id)}</td><td>${md(m.title)}<div class="muted small">${md(m.description)}</div></td><td>${e(formatValue(m.unit, m.value))}</td><td>${e(formatThreshold(m))}</td><td>${e(formatCount(m.basis))} ${md(m.basis_description)}</td><td>${badge(m.status)}</td></tr>`,
    )
    .join('')
  const driftShown = report.drifted_resources.slice(0, HTML_LIMITS.driftedResources)
  const drift = driftShown
    .map(
      (d) =>
        `<tr><td class="mono">${e(d.drift_key)}</td><td><ul>${d.spellings
          .slice(0, HTML_LIMITS.spellings)
          .map((s) => `<li class="mono">${e(s)}</li>`)
          .join(
            '',
          )}${d.spellings.length > HTML_LIMITS.spellings ? `<li class="muted">${e(d.spellings.length - HTML_LIMITS.spellings)} more</li>` : ''}</ul></td></tr>`,
    )
    .join('')
  const counts = report.finding_counts
    .map(
      (c) =>
        `<tr><td class="mono">${e(c.rule_id)}</td><td>${e(c.severity)}</td><td>${e(STATUS_WORDS[c.status] ?? c.status)}</td><td>${e(formatCount(c.findings))}</td><td>${e(formatCount(c.occurrences))}</td></tr>`,
    )
    .join('')
  const downloads = (options.downloads ?? [])
    .map((d) => `<a href="${e(d.href)}">${e(d.label)}</a>`)
    .join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="audtrail-report-digest" content="${e(report.integrity.digest)}">
<title>audtrail compliance report: ${e(report.tenant)}</title>
<style>${CSS}</style></head><body>
<header><h1>Compliance report</h1>
<p>Tenant <strong>${e(report.tenant)}</strong> · period ${e(report.period.since)} to ${e(report.period.until)} (until exclusive) · generated ${e(report.generated_at)} by audtrail ${e(report.provenance.audtrail_version)}</p>
<p class="small">JSON report digest (${e(report.integrity.digest_algorithm)}, ${e(report.integrity.canonicalization)}): <span class="digest">${e(report.integrity.digest)}</span>${report.integrity.signature ? ' · signed' : ''}</p>
${downloads ? `<p class="downloads noprint">${downloads}</p>` : ''}</header>
<section id="summary"><h2>Summary</h2><table><thead><tr><th>Framework</th><th>Controls</th><th>Pass</th><th>Fail</th><th>No evidence</th></tr></thead><tbody>${summary}</tbody></table></section>
<section id="status-rule"><h2>How status is decided</h2><ol>${report.status_rule.map((s) => `<li>${md(s)}</li>`).join('')}</ol></section>
${sourcesSection(report)}
${report.frameworks.map((f) => frameworkSection(f, metrics, findings, samples, link)).join('\n')}
<section id="metrics"><h2>Evidence metrics</h2><table><thead><tr><th>Metric</th><th>What</th><th>Value</th><th>Threshold</th><th>Basis</th><th>Status</th></tr></thead><tbody>${metricRows}</tbody></table></section>
<section id="drift"><h2>Drifted resources</h2>${drift ? `<table><thead><tr><th>Drift key</th><th>Raw spellings</th></tr></thead><tbody>${drift}</tbody></table>${report.drifted_resources.length > driftShown.length ? `<p class="muted small">${e(report.drifted_resources.length - driftShown.length)} more in the JSON report.</p>` : ''}` : '<p class="muted">none in the period</p>'}</section>
<section id="findings"><h2>Findings in the period</h2>
<p class="muted small">Counted per rule, severity and triage status. The findings themselves are listed in the JSON export (the most severe first, up to ${e(formatCount(report.findings.length))}${report.findings_truncated ? ', more occurred' : ''}) and by id per control in the CSV export.</p>
${counts ? `<table><thead><tr><th>Rule</th><th>Severity</th><th>Triage</th><th>Findings</th><th>Occurrences</th></tr></thead><tbody>${counts}</tbody></table>` : '<p class="muted">no findings in the period</p>'}</section>
${closedSection(report, link)}
${provenanceSection(report)}
</body></html>
`
}
