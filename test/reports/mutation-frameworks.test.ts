/**
 * The report catalog's evidence metrics and quotes (issue 31, survivors of a StrykerJS run on
 * src/reports/frameworks): each control's metrics are known, distinct metric ids, and each MCP
 * clause quotes a whole sentence of the specification, never an empty or cut one.
 */
import { describe, expect, it } from 'vitest'
import { FRAMEWORKS } from '../../src/reports/frameworks.js'
import { METRIC_IDS } from '../../src/reports/metrics.js'
import { section, spec } from '../helpers/markdown.js'

const MCP = spec('mcp-authorization.md')

describe('the report catalog', () => {
  it("lists as each control's evidence known metrics, each once", () => {
    const problems: string[] = []
    for (const fw of Object.values(FRAMEWORKS))
      for (const c of fw.controls) {
        for (const m of c.metrics)
          if (!(METRIC_IDS as readonly string[]).includes(m))
            problems.push(`${fw.id} ${c.id}: ${JSON.stringify(m)}`)
        if (new Set(c.metrics).size !== c.metrics.length) problems.push(`${fw.id} ${c.id}: repeats`)
      }
    expect(problems).toEqual([])
  })

  it('quotes whole sentences of each MCP clause, as the quoted lines of its section hold them', () => {
    const problems: string[] = []
    for (const c of FRAMEWORKS['mcp-authorization'].controls) {
      const quote = c.citation?.quote
      if (quote === undefined) continue
      if (!/^[A-Z].{20,}[.:]$/.test(quote)) problems.push(`${c.id}: not a sentence: ${quote}`)
      const lines = [...section(MCP, `### ${c.title}`).matchAll(/^> ?(.*)$/gm)].map((m) => m[1]!)
      if (!lines.some((line) => line.includes(quote))) problems.push(`${c.id}: not quoted`)
    }
    expect(problems).toEqual([])
  })

  it('gives a reason for every control no rule counts against', () => {
    const problems: string[] = []
    for (const fw of Object.values(FRAMEWORKS))
      for (const c of fw.controls)
        if (c.note !== undefined && c.note.trim().length < 20)
          problems.push(`${fw.id} ${c.id}: note ${JSON.stringify(c.note)}`)
    expect(problems).toEqual([])
  })
})
