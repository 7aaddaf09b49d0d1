import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import { mappingId } from '../../src/reports/control.js'
import { FRAMEWORKS } from '../../src/reports/frameworks/index.js'
import { FRAMEWORK_IDS } from '../../src/reports/index.js'

// The contract lives beside the repository (shared/spec); AUDTRAIL_SPEC_DIR points elsewhere.
const SPEC = process.env.AUDTRAIL_SPEC_DIR
  ? new URL(`file://${process.env.AUDTRAIL_SPEC_DIR.replace(/\/?$/, '/')}`)
  : new URL('../../../shared/spec/', import.meta.url)
const STANDARDS = (() => {
  try {
    return readFileSync(new URL('standards.md', SPEC), 'utf8')
  } catch {
    throw new Error(
      `standards.md not found in ${SPEC.pathname}: lay shared/spec beside the repository or set AUDTRAIL_SPEC_DIR`,
    )
  }
})()

/** The text of one `## n.` / `### n.n` section of standards.md, bold markers removed. */
function section(heading: string): string {
  const start = STANDARDS.indexOf(`\n${heading}`)
  if (start < 0) throw new Error(`no section ${heading}`)
  const level = heading.split(' ')[0]!
  const rest = STANDARDS.slice(start + heading.length + 1)
  const end = rest.search(new RegExp(`\\n#{2,${level.length}} `))
  return (end < 0 ? rest : rest.slice(0, end)).replace(/\*\*/g, '')
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** How each framework's section writes an id next to its title. */
const CITED: Record<string, (id: string, title: string) => RegExp> = {
  'owasp-nhi-2025': (id, t) => new RegExp(`^\\| ${escape(id)} \\| ${escape(t)} \\|`, 'm'),
  'owasp-asi-2026': (id, t) => new RegExp(`^\\| ${escape(id)} \\| ${escape(t)}( \\(|\\s*\\|)`, 'm'),
  'nist-csf-2.0': (id, t) =>
    new RegExp(`(^- |; |: )${escape(id)}:? ${escape(t)}(\\s*$|;|\\s*\\()`, 'm'),
  'nist-800-53r5': (id, t) =>
    new RegExp(`(^|· |\\()${escape(id)} ${escape(t)}( ·|\\)| \\(|\\.?$)`, 'm'),
  'nist-800-207': (id, t) =>
    new RegExp(`^${escape(id.replace('tenet-', ''))}\\. "${escape(t)}"`, 'm'),
}
const SECTIONS: Record<string, string> = {
  'owasp-nhi-2025': '### 7.1',
  'owasp-asi-2026': '### 7.2',
  'nist-csf-2.0': '### 8.2',
  'nist-800-53r5': '### 8.3',
  'nist-800-207': '### 8.1',
  'mcp-authorization': '## 4.',
}
const FIELD = {
  'owasp-nhi-2025': 'owasp_nhi',
  'owasp-asi-2026': 'owasp_asi',
  'nist-csf-2.0': 'nist_csf',
  'nist-800-53r5': 'nist_800_53',
  'nist-800-207': 'nist_800_207',
} as const

describe('the report catalog', () => {
  it('covers the six frameworks of PRODUCT.md section 6, each with unique control ids', () => {
    expect(Object.keys(FRAMEWORKS)).toEqual([...FRAMEWORK_IDS])
    for (const fw of Object.values(FRAMEWORKS)) {
      const ids = fw.controls.map((c) => c.id)
      expect(new Set(ids).size, fw.id).toBe(ids.length)
      expect(ids.length, fw.id).toBeGreaterThan(0)
    }
  })

  it('cites every id and title exactly as standards.md writes them', () => {
    const problems: string[] = []
    for (const fw of Object.values(FRAMEWORKS)) {
      if (fw.id === 'mcp-authorization') continue
      const text = section(SECTIONS[fw.id]!)
      for (const c of fw.controls)
        if (!CITED[fw.id]!(c.id, c.title).test(text)) problems.push(`${fw.id} ${c.id} ${c.title}`)
    }
    expect(problems).toEqual([])
  })

  it('quotes MCP clauses verbatim, with a title, a revision and an anchor standards.md names', () => {
    const text = section('## 4.')
    const problems: string[] = []
    for (const c of FRAMEWORKS['mcp-authorization'].controls) {
      const cite = c.citation
      if (!cite) {
        problems.push(`${c.id}: no citation`)
        continue
      }
      if (!/^mcp-authz\/[a-z-]+$/.test(c.id)) problems.push(`${c.id}: not a stable id`)
      if (!text.includes(c.title)) problems.push(`${c.id}: title ${c.title}`)
      if (!text.includes(cite.revision)) problems.push(`${c.id}: revision ${cite.revision}`)
      const url = new URL(cite.url)
      const path = url.pathname.replace(cite.revision, '<rev>')
      if (!text.includes(url.pathname) && !text.includes(path)) problems.push(`${c.id}: ${path}`)
      // MCP documents anchor a section by its heading's slug.
      const slug = c.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')
      if (url.hash !== `#${slug}`) problems.push(`${c.id}: anchor ${url.hash} is not #${slug}`)
      if (cite.quote !== undefined && !text.includes(cite.quote))
        problems.push(`${c.id}: quote is not verbatim`)
    }
    expect(problems).toEqual([])
  })

  it("counts a rule against a control exactly when the rule's mappings name it", () => {
    const problems: string[] = []
    for (const [fwId, field] of Object.entries(FIELD)) {
      const fw = FRAMEWORKS[fwId as keyof typeof FIELD]
      const mapped = new Set(RULES.flatMap((r) => r.mappings[field]))
      const covered = new Set(fw.controls.map((c) => mappingId(c.id)))
      for (const id of mapped) if (!covered.has(id)) problems.push(`${fwId}: no control for ${id}`)
      for (const c of fw.controls) {
        const expected = RULES.filter((r) => r.mappings[field].includes(mappingId(c.id))).map(
          (r) => r.id,
        )
        if (JSON.stringify(c.rules) !== JSON.stringify(expected)) problems.push(`${fwId} ${c.id}`)
        if (c.rules.length === 0 && !c.note) problems.push(`${fwId} ${c.id}: no rule and no note`)
      }
    }
    expect(problems).toEqual([])
  })

  it('lists under each MCP clause only rules that exist and cite that clause', () => {
    const problems: string[] = []
    for (const c of FRAMEWORKS['mcp-authorization'].controls) {
      expect(c.rules.length, c.id).toBeGreaterThan(0)
      for (const id of c.rules) {
        const rule = RULES.find((r) => r.id === id)
        if (!rule) problems.push(`${c.id}: no rule ${id}`)
        else if (!rule.references.some((ref) => ref.includes(c.citation!.url)))
          problems.push(`${c.id}: ${id} does not cite ${c.citation!.url}`)
      }
    }
    expect(problems).toEqual([])
  })

  it('gives every control at least one evidence metric', () => {
    for (const fw of Object.values(FRAMEWORKS))
      for (const c of fw.controls) expect(c.metrics.length, `${fw.id} ${c.id}`).toBeGreaterThan(0)
  })
})
