import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import { MAPPED, mappedIds, mappingId } from '../../src/frameworks/index.js'
import { FRAMEWORKS } from '../../src/reports/frameworks.js'
import { FRAMEWORK_IDS } from '../../src/reports/index.js'
import { section, spec, table } from '../helpers/markdown.js'

// The repository's own contract (docs/spec): the framework catalogs and the MCP clauses.
const CATALOG = spec('frameworks.md')
const MCP = spec('mcp-authorization.md')

/** A two-column `| field | value |` table as a record. */
const fields = (text: string) => Object.fromEntries(table(text, 'field').map(([k, v]) => [k!, v!]))

/** The quoted text of a section: its `> ` lines, one paragraph or list item each. */
const quoted = (text: string) =>
  [...text.matchAll(/^> ?(.*)$/gm)].map((m) => m[1]!).filter((line) => line !== '')

/** The report frameworks whose controls count the rules that map to them, with their field. */
const FIELD = MAPPED.flatMap((f) =>
  'controls' in f ? [[f.id, f.mapping.key] as [keyof typeof FRAMEWORKS, typeof f.mapping.key]] : [],
)

describe('the report catalog', () => {
  it('covers the frameworks docs/spec/frameworks.md lists, each with unique control ids', () => {
    const listed = [...CATALOG.matchAll(/^## ([a-z0-9.-]+)$/gm)].map((m) => m[1]!)
    expect(listed.filter((id) => FRAMEWORK_IDS.includes(id as never))).toEqual([...FRAMEWORK_IDS])
    expect(listed.length).toBeGreaterThan(FRAMEWORK_IDS.length)
    expect(Object.keys(FRAMEWORKS)).toEqual([...FRAMEWORK_IDS])
    for (const fw of Object.values(FRAMEWORKS)) {
      const ids = fw.controls.map((c) => c.id)
      expect(new Set(ids).size, fw.id).toBe(ids.length)
      expect(ids.length, fw.id).toBeGreaterThan(0)
    }
  })

  it('cites each framework by the public document, version and URL docs/spec/frameworks.md gives', () => {
    const problems: string[] = []
    for (const fw of Object.values(FRAMEWORKS)) {
      const text = section(CATALOG, `## ${fw.id}`)
      const doc = fields(text)
      if (!text.includes(`\nReport title: ${fw.title}\n`))
        problems.push(`${fw.id}: title ${fw.title}`)
      const expected = {
        title: doc.Document,
        publisher: doc.Publisher,
        version: doc.Version,
        url: doc.URL,
      }
      if (JSON.stringify(fw.source) !== JSON.stringify(expected))
        problems.push(`${fw.id}: source ${JSON.stringify(fw.source)}`)
      if (!fw.source.url.startsWith('https://')) problems.push(`${fw.id}: url ${fw.source.url}`)
      // Reports cite the public document, never a file of this repository or beside it.
      if (/\.md\b/.test(JSON.stringify(fw))) problems.push(`${fw.id}: cites a file`)
    }
    expect(problems).toEqual([])
  })

  it('cites every id and title exactly as docs/spec/frameworks.md catalogs them', () => {
    const problems: string[] = []
    for (const fw of Object.values(FRAMEWORKS)) {
      // Listed frameworks (the MCP clauses) have their own document, checked below.
      if (!MAPPED.some((f) => f.id === fw.id)) continue
      const titles = new Map(
        table(section(CATALOG, `## ${fw.id}`), 'id').map(([id, title]) => [id!, title!]),
      )
      for (const c of fw.controls)
        if (titles.get(c.id) !== c.title) problems.push(`${fw.id} ${c.id} ${c.title}`)
    }
    expect(problems).toEqual([])
  })

  it('quotes MCP clauses verbatim, with the id, revision, URL and rules docs/spec/mcp-authorization.md gives', () => {
    const fw = FRAMEWORKS['mcp-authorization']
    const headings = [...MCP.matchAll(/^### (.+)$/gm)].map((m) => m[1]!)
    expect(headings).toEqual(fw.controls.map((c) => c.title))
    const problems: string[] = []
    for (const c of fw.controls) {
      const cite = c.citation
      if (!cite) {
        problems.push(`${c.id}: no citation`)
        continue
      }
      const text = section(MCP, `### ${c.title}`)
      const doc = fields(text)
      if (!/^mcp-authz\/[a-z-]+$/.test(c.id)) problems.push(`${c.id}: not a stable id`)
      if (doc.Id !== `\`${c.id}\``) problems.push(`${c.id}: id ${doc.Id}`)
      if (doc.URL !== cite.url) problems.push(`${c.id}: url ${cite.url}`)
      if (cite.revision !== fw.source.version) problems.push(`${c.id}: revision ${cite.revision}`)
      if (!new URL(cite.url).pathname.startsWith(`/specification/${cite.revision}/`))
        problems.push(`${c.id}: ${cite.url} is not of revision ${cite.revision}`)
      const rules = [...(doc.Rules ?? '').matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!)
      if (JSON.stringify(rules) !== JSON.stringify(c.rules))
        problems.push(`${c.id}: rules ${c.rules.join(' ')}, documented ${rules.join(' ')}`)
      // MCP documents anchor a section by its heading's slug.
      const slug = c.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')
      if (new URL(cite.url).hash !== `#${slug}`) problems.push(`${c.id}: anchor is not #${slug}`)
      if (cite.quote !== undefined && !quoted(text).some((line) => line.includes(cite.quote!)))
        problems.push(`${c.id}: quote is not verbatim`)
    }
    expect(problems).toEqual([])
  })

  it("counts a rule against a control exactly when the rule's mappings name it", () => {
    const problems: string[] = []
    expect(FIELD.length).toBe(MAPPED.filter((f) => 'controls' in f).length)
    expect(FIELD.length).toBeGreaterThanOrEqual(5)
    for (const [fwId, field] of FIELD) {
      const fw = FRAMEWORKS[fwId]
      const mapped = new Set(RULES.flatMap((r) => mappedIds(r.mappings, field)))
      const covered = new Set(fw.controls.map((c) => mappingId(c.id)))
      for (const id of mapped) if (!covered.has(id)) problems.push(`${fwId}: no control for ${id}`)
      for (const c of fw.controls) {
        const expected = RULES.filter((r) =>
          mappedIds(r.mappings, field).includes(mappingId(c.id)),
        ).map((r) => r.id)
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
