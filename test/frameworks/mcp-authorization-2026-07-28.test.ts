/**
 * What is particular to the MCP authorization revision 2026-07-28 (src/frameworks/
 * mcp-authorization-2026-07-28.ts); the registry test checks what every version shares.
 */
import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import mcp2025 from '../../src/frameworks/mcp-authorization.js'
import mcp2026 from '../../src/frameworks/mcp-authorization-2026-07-28.js'
import { FRAMEWORK_IDS } from '../../src/frameworks/index.js'
import { FRAMEWORKS } from '../../src/reports/frameworks.js'

const slug = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-')
/** 2025-11-25 clauses whose 2026-07-28 counterpart has another id. */
const RENAMED: Record<string, string> = {
  'mcp-authz/scope-minimization': 'mcp-authz/scope-selection',
}

/** Rules that count against a kept clause in 2026-07-28 and did not in 2025-11-25. */
const ADDED: Record<string, string[]> = {
  // One token key used from several sources: the theft the clause's short lifetimes limit.
  // Sender-constrained tokens (RFC 9449, RFC 8705) are what makes a stolen token useless; the
  // rules that audit them count for the clause.
  'mcp-authz/token-theft': [
    'token-multi-source',
    'bound-token-downgrade',
    'dpop-htu-mismatch',
    'dpop-proof-replay',
    'proof-key-mismatch',
    'sender-binding-dropped',
  ],
}

describe('MCP authorization, revision 2026-07-28', () => {
  it('is its own report framework beside 2025-11-25, which keeps its id', () => {
    expect(FRAMEWORK_IDS).toContain('mcp-authorization')
    expect(FRAMEWORK_IDS).toContain('mcp-authorization-2026-07-28')
    expect(mcp2026.source.version).toBe('2026-07-28')
    expect(mcp2025.source.version).toBe('2025-11-25')
  })

  it('cites every clause at a section of revision 2026-07-28, quoting a requirement', () => {
    const problems: string[] = []
    for (const c of mcp2026.controls) {
      const url = new URL(c.citation.url)
      if (url.origin !== 'https://modelcontextprotocol.io') problems.push(`${c.id}: ${url.origin}`)
      if (!url.pathname.startsWith('/specification/2026-07-28/basic/'))
        problems.push(`${c.id}: ${url.pathname} is not of the revision`)
      // The specification anchors a section by its heading's slug; token passthrough is a
      // sentence of Access Token Privilege Restriction in this revision.
      const heading =
        c.id === 'mcp-authz/token-passthrough'
          ? mcp2026.ids['mcp-authz/access-token-privilege-restriction']
          : mcp2026.ids[c.id]
      if (url.hash !== `#${slug(heading)}`) problems.push(`${c.id}: anchor ${url.hash}`)
      if (!/\b(MUST|SHOULD|REQUIRED)\b/.test(c.citation.quote))
        problems.push(`${c.id}: quotes no requirement`)
      if (/\*\*|\]\(/.test(c.citation.quote)) problems.push(`${c.id}: markup in the quote`)
    }
    expect(problems).toEqual([])
  })

  it('says in every control what changed since 2025-11-25', () => {
    for (const c of mcp2026.controls)
      expect(c.note, c.id).toMatch(
        /^(Unchanged since 2025-11-25|Since 2025-11-25: |New in 2026-07-28)/,
      )
  })

  it('keeps every 2025-11-25 clause, under the same id and title unless renamed', () => {
    for (const c of mcp2025.controls) {
      const id = RENAMED[c.id] ?? c.id
      expect(
        mcp2026.controls.map((d) => d.id),
        c.id,
      ).toContain(id)
      if (!(c.id in RENAMED))
        expect(mcp2026.ids[id as keyof typeof mcp2026.ids], c.id).toBe(mcp2025.ids[c.id])
    }
  })

  it('counts the 2025-11-25 rules (and the listed additions) for the kept clauses, and the header rules for the new ones', () => {
    const report = FRAMEWORKS['mcp-authorization-2026-07-28']
    const old = FRAMEWORKS['mcp-authorization']
    for (const c of old.controls) {
      const now = report.controls.find((d) => d.id === (RENAMED[c.id] ?? c.id))!
      expect([...now.rules].sort(), c.id).toEqual([...c.rules, ...(ADDED[c.id] ?? [])].sort())
    }
    const rulesOf = (id: string) => report.controls.find((c) => c.id === id)!.rules
    expect(rulesOf('mcp-http/standard-request-headers')).toEqual(['mcp-unvalidated-headers'])
    expect(rulesOf('mcp-http/server-validation')).toEqual([
      'mcp-tool-header-mismatch',
      'mcp-unvalidated-headers',
    ])
    expect(rulesOf('mcp-authz/authorization-server-binding')).toEqual([
      'client-id-multiple-issuers',
    ])
    // Not vacuous: the rules exist and map through their own metadata.
    for (const c of report.controls)
      for (const id of c.rules)
        expect(RULES.find((r) => r.id === id)!.mappings.mcp_2026_07_28).toContain(c.id)
  })
})
