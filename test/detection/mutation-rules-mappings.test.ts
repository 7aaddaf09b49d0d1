/**
 * What a rule's `mappings` do: they decide which controls of a compliance report count the rule's
 * findings. Which ids a rule maps to is a reviewed decision (data, printed in docs/rules.md), and
 * a test that restated the ids would only restate the data; what holds here is what any mapping
 * must satisfy:
 *
 * - every id is one of its framework's ids (a typo or a blank maps the rule nowhere);
 * - every rule counts under at least one decided control of each framework that covers all of
 *   audtrail's findings (OWASP NHI, NIST CSF, NIST SP 800-53, NIST SP 800-207): a finding no
 *   control of such a report counts would be invisible there;
 * - a clause of MCP 2026-07-28 counts every rule the same clause lists in revision 2025-11-25
 *   (docs/spec/mcp-authorization.md: the wording is unchanged between them);
 * - the report lists each rule under every decided control its mappings name.
 *
 * The mutation runs leave `mappings` unmutated (scripts/mutation/prose-ignorer.mjs: module-level
 * data, each mutant a full run of the part's tests); the last block makes the same mutants
 * Stryker would (each id blanked, each list emptied, an empty list filled, the object emptied)
 * in memory and checks that the checks above catch them (docs/design/mutation.md lists the ones
 * they cannot: emptying a list no invariant requires).
 */
import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import {
  MAPPED,
  MAPPING_KEYS,
  mappableIds,
  mappingId,
  type MappingKey,
  type Mappings,
} from '../../src/frameworks/index.js'
import { FRAMEWORKS } from '../../src/reports/frameworks.js'

interface Mapped {
  id: string
  mappings: Mappings
}

/** The report frameworks every rule must count under (one decided control at least). */
const COVERING = ['owasp-nhi-2025', 'nist-csf-2.0', 'nist-800-53r5', 'nist-800-207'] as const

const fieldOf = (framework: string): MappingKey =>
  MAPPED.find((f) => f.id === framework)!.mapping.key

/** The decided controls of a report framework, as rules write their ids (`NHI4`). */
const decided = (framework: string): string[] =>
  FRAMEWORKS[framework as keyof typeof FRAMEWORKS].controls.map((c) => mappingId(c.id))

/** The MCP clauses of revision 2025-11-25 and the rules each lists (the report's own lists). */
const MCP_2025 = FRAMEWORKS['mcp-authorization'].controls
const MCP_2026 = 'mcp-authorization-2026-07-28'

/** What is wrong with these rules' mappings, one line each. */
function problemsOf(rules: readonly Mapped[]): string[] {
  const problems: string[] = []
  for (const rule of rules) {
    for (const field of MAPPING_KEYS) {
      const ids: unknown = (rule.mappings as Record<string, unknown>)[field]
      if (!Array.isArray(ids)) {
        problems.push(`${rule.id}: no ${field} list`)
        continue
      }
      const known = mappableIds(field)
      for (const id of ids)
        if (!known.includes(id as string)) problems.push(`${rule.id}: ${field} ${id} is no id`)
    }
    for (const framework of COVERING) {
      const ids = (rule.mappings as Record<string, readonly string[] | undefined>)[
        fieldOf(framework)
      ]
      if (!decided(framework).some((id) => ids?.includes(id)))
        problems.push(`${rule.id}: counted under no control of ${framework}`)
    }
  }
  const field = fieldOf(MCP_2026)
  for (const clause of MCP_2025) {
    if (!decided(MCP_2026).includes(clause.id)) continue
    for (const id of clause.rules) {
      const rule = rules.find((r) => r.id === id)
      const ids = (rule?.mappings as Record<string, readonly string[] | undefined> | undefined)?.[
        field
      ]
      if (!ids?.includes(clause.id))
        problems.push(`${id}: not counted under ${clause.id} of ${MCP_2026}`)
    }
  }
  return problems
}

describe("rules' framework mappings", () => {
  it('hold: real ids, every rule counted in each covering framework, the MCP clauses kept', () => {
    expect(problemsOf(RULES)).toEqual([])
  })

  it('put each rule under every decided control its mappings name, in the report', () => {
    const problems: string[] = []
    let listed = 0
    for (const { id: framework, mapping } of MAPPED) {
      if (!(framework in FRAMEWORKS)) continue
      for (const control of FRAMEWORKS[framework as keyof typeof FRAMEWORKS].controls)
        for (const rule of RULES)
          if ((rule.mappings[mapping.key] as readonly string[]).includes(mappingId(control.id))) {
            listed++
            if (!control.rules.includes(rule.id))
              problems.push(`${framework} ${control.id}: ${rule.id} not listed`)
          }
    }
    expect(problems).toEqual([])
    // Every rule, under several controls of each covering framework at least.
    expect(listed).toBeGreaterThan(RULES.length * COVERING.length)
  })

  describe('catch the one-line changes a mutation tool makes', () => {
    /** The rules with one rule's mappings replaced. */
    const withMappings = (id: string, mappings: unknown): Mapped[] =>
      RULES.map((r) => (r.id === id ? { id, mappings: mappings as Mappings } : r))
    const lists = (r: Mapped) => r.mappings as Record<string, readonly string[]>

    it('an id blanked, in any list of any rule', () => {
      const missed: string[] = []
      let made = 0
      for (const rule of RULES)
        for (const field of MAPPING_KEYS)
          lists(rule)[field]!.forEach((_, i) => {
            made++
            const ids = lists(rule)[field]!.map((id, j) => (j === i ? '' : id))
            if (problemsOf(withMappings(rule.id, { ...rule.mappings, [field]: ids })).length === 0)
              missed.push(`${rule.id} ${field}[${i}]`)
          })
      expect(made).toBeGreaterThan(RULES.length * 10)
      expect(missed).toEqual([])
    })

    it('an empty list filled, and the whole object emptied', () => {
      const missed: string[] = []
      for (const rule of RULES) {
        if (problemsOf(withMappings(rule.id, {})).length === 0) missed.push(`${rule.id} {}`)
        for (const field of MAPPING_KEYS)
          if (
            lists(rule)[field]!.length === 0 &&
            problemsOf(withMappings(rule.id, { ...rule.mappings, [field]: ['Stryker was here'] }))
              .length === 0
          )
            missed.push(`${rule.id} ${field} filled`)
      }
      expect(missed).toEqual([])
    })

    it('a list emptied, in each covering framework and where a 2025-11-25 clause lists the rule', () => {
      const required = new Map<string, Set<MappingKey>>()
      for (const rule of RULES) required.set(rule.id, new Set(COVERING.map(fieldOf)))
      for (const clause of MCP_2025)
        if (decided(MCP_2026).includes(clause.id))
          for (const id of clause.rules) required.get(id)!.add(fieldOf(MCP_2026))
      const missed: string[] = []
      for (const rule of RULES)
        for (const field of required.get(rule.id)!)
          if (problemsOf(withMappings(rule.id, { ...rule.mappings, [field]: [] })).length === 0)
            missed.push(`${rule.id} ${field}`)
      expect(missed).toEqual([])
    })
  })
})
