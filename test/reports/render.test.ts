import { describe, expect, it } from 'vitest'
import {
  CONTENT_TYPES,
  ComplianceReport,
  renderReport,
  renderReportFile,
} from '../../src/reports/index.js'
import { citeSource } from '../../src/reports/control.js'
import { csvCell, CSV_COLUMNS } from '../../src/reports/render-csv.js'
import { reportDigest } from '../../src/reports/integrity.js'
import { escapeHtml, HTML_LIMITS } from '../../src/reports/render-html.js'
import { inlineMarkdown, stripMarkdown } from '../../src/reports/text.js'
import { parseCsv } from '../helpers/csv.js'
import { syntheticReport } from './synthetic.js'

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "=cmd|' /C calc'!A0",
  '+SUM(1,2)',
  '-2+3',
  '@SUM(A1)',
  '\t=1',
  '\r=1',
  'a,b "quoted"\r\nnext line',
  "it's <b>&amp;</b>",
]

/** A report whose every free-text field carries a hostile value. */
function hostileReport(): ComplianceReport {
  const h = (i: number) => HOSTILE[i % HOSTILE.length]!
  const report = {
    kind: 'audtrail.compliance_report',
    schema_version: 2,
    generated_at: '2026-11-01T00:00:00.000Z',
    tenant: h(0),
    period: { since: '2026-10-01T00:00:00.000Z', until: '2026-11-01T00:00:00.000Z' },
    status_rule: [h(1)],
    frameworks: [
      {
        id: 'mcp-authorization',
        title: h(2),
        source: { title: h(3), publisher: h(4), version: h(5), url: `https://x.example/${h(6)}` },
        summary: { controls: HOSTILE.length, pass: 0, fail: HOSTILE.length, no_evidence: 0 },
        controls: HOSTILE.map((text, i) => ({
          id: text,
          title: h(i + 1),
          citation: { revision: h(i + 2), url: `https://x.example/${text}`, quote: h(i + 3) },
          note: h(i + 4),
          status: 'fail',
          reason: h(i + 5),
          metrics: ['drifted_resources'],
          rules: [h(i + 6)],
          findings: [HOSTILE[(i + 7) % HOSTILE.length]!],
          finding_count: 2,
          finding_breakdown: [{ rule_id: h(i + 6), severity: 'high', status: 'open', findings: 2 }],
        })),
      },
    ],
    metrics: [
      {
        id: 'drifted_resources',
        title: h(8),
        unit: 'count',
        description: h(9),
        value: 1,
        basis: 3,
        basis_description: h(0),
        threshold: null,
        status: 'informational',
      },
    ],
    drifted_resources: [{ drift_key: h(0), spellings: HOSTILE }],
    finding_counts: [
      { rule_id: h(2), severity: 'high', status: 'open', findings: 1, occurrences: 1 },
    ],
    findings: HOSTILE.map((text, i) => ({
      id: text,
      rule_id: h(i + 1),
      title: h(i + 2),
      severity: 'critical',
      status: 'open',
      keys: { client_id: text, resource: `https://mcp.example.com/${text}` },
      first_seen: '2026-10-02T00:00:00.000Z',
      last_seen: '2026-10-03T00:00:00.000Z',
      count: 1,
      period_occurrences: 1,
      period_first_seen: '2026-10-02T00:00:00.000Z',
      period_last_seen: '2026-10-03T00:00:00.000Z',
    })),
    findings_truncated: true,
    scope: {
      tenant: h(0),
      period: { since: '2026-10-01T00:00:00.000Z', until: '2026-11-01T00:00:00.000Z' },
      sources: HOSTILE.map((text, i) => ({
        kind: h(i + 1),
        id: text,
        events: i + 1,
        period_first_seen: '2026-10-02T00:00:00.000Z',
        last_seen: '2026-10-03T00:00:00.000Z',
      })),
      silent_sources: [{ kind: h(3), id: h(4), events: 0, last_seen: '2026-09-03T00:00:00.000Z' }],
      sources_truncated: false,
    },
    provenance: {
      generator: 'audtrail',
      audtrail_version: h(5),
      rule_set: { version: h(6), rules: 16 },
      catalog: { version: h(7), frameworks: [{ id: h(8), version: h(9), url: h(0) }] },
    },
    sample_events: HOSTILE.map((text, i) => ({
      rule_id: h(i + 6),
      finding_id: text,
      event_id: text,
      event_type: h(i + 1),
      occurred_at: '2026-10-02T00:00:00.000Z',
      source: { kind: h(i + 2), id: h(i + 3) },
      client_id: h(i + 4),
      token_key: h(i + 5),
      resource: h(i + 6),
      presented_aud: [h(i + 7)],
      requested_resources: [h(i + 8)],
      granted_aud: [h(i + 9)],
      aud_match: h(i),
      aud_validated: false,
      decision: h(i + 1),
      reason: h(i + 2),
      tool_method: h(i + 3),
      tool_name: h(i + 4),
      http_status: 200,
    })),
    closed_findings: HOSTILE.map((text, i) => ({
      id: text,
      rule_id: h(i + 1),
      severity: 'low',
      title: h(i + 2),
      status: 'resolved',
      closed_by: h(i + 3),
      closed_at: '2026-10-04T00:00:00.000Z',
      note: h(i + 4),
    })),
    closed_findings_truncated: false,
  }
  return ComplianceReport.parse({
    ...report,
    integrity: {
      canonicalization: 'RFC 8785 (JCS)',
      digest_algorithm: 'SHA-256',
      covers: h(1),
      digest: reportDigest(report),
    },
  })
}

describe('the CSV rendering', () => {
  it('neutralises formulas and quotes as RFC 4180 requires', () => {
    expect(csvCell('=1+2')).toBe("'=1+2")
    expect(csvCell('+1')).toBe("'+1")
    expect(csvCell('-1')).toBe("'-1")
    expect(csvCell('@x')).toBe("'@x")
    expect(csvCell('\tx')).toBe("'\tx")
    expect(csvCell('\rx')).toBe(`"'\rx"`)
    expect(csvCell('a,"b"')).toBe('"a,""b"""')
    expect(csvCell('plain text')).toBe('plain text')
    expect(csvCell(3)).toBe('3')
  })

  it('writes one row per control that reads back to the values, none of them a formula', () => {
    const report = hostileReport()
    const csv = renderReport(report, 'csv')
    expect(csv.endsWith('\r\n')).toBe(true)
    const rows = parseCsv(csv)
    expect(rows[0]).toEqual([...CSV_COLUMNS])
    const controls = report.frameworks[0]!.controls
    expect(rows.length).toBe(1 + controls.length)
    for (const [i, row] of rows.slice(1).entries()) {
      expect(row.length).toBe(CSV_COLUMNS.length)
      for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/)
      const unquote = (s: string) => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s)
      expect(unquote(row[4]!)).toBe(controls[i]!.id)
      expect(unquote(row[5]!)).toBe(controls[i]!.title)
      expect(unquote(row[0]!)).toBe(report.tenant)
    }
  })

  it("cites a control's clause, or else its framework's public document, version and URL", () => {
    const report = hostileReport()
    const framework = report.frameworks[0]!
    delete framework.controls[1]!.citation
    const rows = parseCsv(renderReport(report, 'csv')).slice(1)
    const column = CSV_COLUMNS.indexOf('citation')
    const unquote = (s: string) => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s)
    const first = framework.controls[0]!.citation!
    expect(unquote(rows[0]![column]!)).toBe(`${first.revision} ${first.url}`)
    expect(unquote(rows[1]![column]!)).toBe(citeSource(framework.source))
    expect(citeSource(framework.source)).toContain(framework.source.version)
    expect(citeSource(framework.source)).toContain(framework.source.url)
  })
})

describe('the HTML rendering', () => {
  const html = renderReport(hostileReport(), 'html')

  it('escapes every value', () => {
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<img/i)
    expect(html).not.toMatch(/<b>/)
    expect(html).toContain(escapeHtml('<script>alert(1)</script>'))
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;')
    expect(html).toContain('it&#39;s &lt;b&gt;&amp;amp;&lt;/b&gt;')
    // Attributes hold only values the renderer made safe: no quote breaks out of one.
    for (const [, value] of html.matchAll(/ (?:id|href|class)="([^"]*)"/g))
      expect(value).toMatch(/^(#?[A-Za-z0-9_ -]*|\/#\/findings\/[A-Za-z0-9%._~!*()&#;-]*)$/)
  })

  it('is self-contained and printable: no external references, no scripts, print CSS', () => {
    // Escaped text may read `src=`; no tag may carry it (a `<` in a value is always escaped).
    const tags = [...html.matchAll(/<[A-Za-z][^>]*>/g)].map((m) => m[0])
    expect(tags.length).toBeGreaterThan(100)
    for (const tag of tags) {
      expect(tag).not.toMatch(/\ssrc=/i)
      expect(tag).not.toMatch(/href="?(https?:|\/\/)/i)
      expect(tag).not.toMatch(/^<(script|img|iframe|link|object|embed)/i)
    }
    expect(html).not.toMatch(/@import|url\(/i)
    expect(html).toMatch(/<style>[\s\S]*@media print[\s\S]*<\/style>/)
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`)
    // In-document anchors, and findings linked to the console (relative, DEFAULT_FINDING_LINK).
    for (const [, href] of html.matchAll(/href="([^"]*)"/g))
      expect(href).toMatch(/^(#|\/#\/findings\/)/)
  })

  it("names each framework's public document, publisher, version and URL as plain text", () => {
    const source = hostileReport().frameworks[0]!.source
    const cited = escapeHtml(citeSource(source))
    expect(html).toContain(`ids and titles from ${cited} ·`)
    for (const part of Object.values(source)) expect(cited).toContain(escapeHtml(part))
  })

  it("links a control's most severe findings to the console, with a configurable link", () => {
    const report = hostileReport()
    const first = report.frameworks[0]!.controls[0]!.findings[0]!
    const id = report.findings.find((f) => f.id === first)!.id
    expect(html).toContain(`href="${escapeHtml(`/#/findings/${encodeURIComponent(id)}`)}"`)
    const custom = renderReport(report, 'html', {
      findingLink: 'https://console.example/findings/{id}?tenant=acme',
      downloads: [{ label: 'Download', href: '/v1/reports/compliance?download=1' }],
    })
    expect(custom).toContain(
      `href="${escapeHtml(`https://console.example/findings/${encodeURIComponent(id)}?tenant=acme`)}"`,
    )
    for (const bad of ['javascript:alert(1)//{id}', 'data:text/html,{id}', '/x" onclick="y'])
      expect(() => renderReport(report, 'html', { findingLink: bad })).toThrow(/unsafe link/)
    expect(custom).toMatch(
      /<p class="downloads noprint"><a href="\/v1\/reports\/compliance\?download=1">Download<\/a>/,
    )
  })

  it('names the JSON digest, the versions, the sources and who closed which finding', () => {
    const report = hostileReport()
    expect(html).toContain(
      `<meta name="audtrail-report-digest" content="${report.integrity.digest}">`,
    )
    expect(html).toContain(report.integrity.digest)
    expect(html).toContain(escapeHtml(report.provenance.audtrail_version))
    expect(html).toContain(escapeHtml(report.provenance.rule_set.version))
    expect(html).toContain(escapeHtml(report.provenance.catalog.version))
    for (const s of report.scope.sources) expect(html).toContain(escapeHtml(s.id))
    expect(html).toContain(escapeHtml(report.scope.silent_sources[0]!.id))
    for (const c of report.closed_findings) {
      expect(html).toContain(escapeHtml(c.closed_by))
      expect(html).toContain(escapeHtml(c.note))
    }
  })

  it('keeps every control id on one line and says statuses in words', () => {
    for (const c of hostileReport().frameworks[0]!.controls)
      expect(html).toContain(`<span class="cid">${escapeHtml(c.id)}</span>`)
    expect(html).toMatch(/\.cid\{[^}]*white-space:nowrap/)
    expect(html).toContain('<span class="badge fail">Fail</span>')
    expect(html).toContain('<span class="badge informational">Informational</span>')
    expect(html).not.toMatch(/>no_evidence</)
  })
})

describe('inline Markdown', () => {
  it('renders code spans and strong text, links as text, and never passes markup through', () => {
    expect(inlineMarkdown('validated `aud`.')).toBe('validated <code>aud</code>.')
    expect(inlineMarkdown('**MUST** reject')).toBe('<strong>MUST</strong> reject')
    expect(inlineMarkdown('see [RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)')).toBe(
      'see RFC 8707 (https://www.rfc-editor.org/rfc/rfc8707)',
    )
    expect(inlineMarkdown('`<script>` and <b>x</b>')).toBe(
      '<code>&lt;script&gt;</code> and &lt;b&gt;x&lt;/b&gt;',
    )
    expect(inlineMarkdown('[x](javascript:alert(1))')).not.toMatch(/<a/)
    expect(inlineMarkdown('**<img src=x>**')).toBe('<strong>&lt;img src=x&gt;</strong>')
    expect(stripMarkdown('validated `aud` **now**')).toBe('validated aud now')
  })

  it('shows no Markdown literally in a report of the real catalog', () => {
    const page = renderReport(syntheticReport({ findings: 50 }), 'html')
    const text = page.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<[^>]+>/g, '')
    expect(text).not.toMatch(/`/)
    expect(text).not.toMatch(/\*\*/)
  })
})

describe('the size of the HTML', () => {
  it('does not grow with the number of findings beyond the caps, and stays under 2 MB', () => {
    const small = renderReport(syntheticReport({ findings: 1_000 }), 'html')
    const large = renderReport(syntheticReport({ findings: 10_000 }), 'html')
    const huge = renderReport(syntheticReport({ findings: 100_000, sources: 5_000 }), 'html')
    expect(Buffer.byteLength(large)).toBeLessThan(2_000_000)
    expect(Buffer.byteLength(huge)).toBeLessThan(2_000_000)
    // Ten times the findings: only counts and the digest change (the listed findings are capped,
    // and fewer controls have one of the most severe findings), never a row per finding.
    expect(large.length).toBeLessThan(small.length + 2_000)
    // Sources are capped at HTML_LIMITS.sources rows (about 150 bytes each).
    expect(huge.length).toBeLessThan(large.length + HTML_LIMITS.sources * 200)
    const report = syntheticReport({ findings: 10_000 })
    const ids = report.findings.map((f) => f.id)
    const shown = ids.filter((id) => large.includes(`/#/findings/${id}"`))
    const controls = report.frameworks.flatMap((f) => f.controls)
    expect(shown.length).toBeGreaterThan(0)
    expect(shown.length).toBeLessThanOrEqual(
      controls.length * HTML_LIMITS.topFindings + HTML_LIMITS.closedFindings,
    )
    // Rows follow the catalog, not the findings: about 30 a control (its metrics, its findings by
    // rule, severity and triage state, its most severe findings), whatever the rules and
    // frameworks of the day.
    expect(large.match(/<tr/g)!.length).toBeLessThan(controls.length * 40)
    expect(large.match(/<tr/g)!.length).toBe(small.match(/<tr/g)!.length)
  })
})

describe('renderReportFile', () => {
  it('names the file after framework, tenant and period, safely, with the media type', () => {
    const file = renderReportFile(hostileReport(), 'csv')
    expect(file.contentType).toBe(CONTENT_TYPES.csv)
    expect(file.fileName).toMatch(/^compliance-mcp-authorization-[A-Za-z0-9._-]+\.csv$/)
    expect(file.fileName).toContain('2026-10-01-2026-11-01')
    const json = renderReportFile(hostileReport(), 'json')
    expect(ComplianceReport.parse(JSON.parse(json.body))).toEqual(hostileReport())
  })
})
