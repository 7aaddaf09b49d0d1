/**
 * The framework registry (src/frameworks/, docs/design/frameworks.md): every framework file of the
 * folder is listed, complete and consistent, and every rule's mappings resolve in it. A new
 * framework version is checked here as soon as its file is listed; the checks themselves are
 * shown to catch each kind of mistake on broken copies.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import {
  FRAMEWORK_IDS,
  MAPPING_KEYS,
  mappableIds,
  mappingId,
  REGISTRY,
  type FrameworkVersion,
  type Mappings,
} from '../../src/frameworks/index.js'
import {
  discoverFrameworks,
  renderVersionsModule,
  versionFiles,
} from '../../src/frameworks/discover.js'
import { METRIC_IDS } from '../../src/reports/metrics.js'

const DIR = fileURLToPath(new URL('../../src/frameworks/', import.meta.url))

/** A rule as far as the registry cares: its id, its mappings and its references. */
interface RuleRef {
  id: string
  mappings: Readonly<Record<string, readonly string[]>>
  references: readonly string[]
}

const https = (url: string | undefined) => url !== undefined && /^https:\/\/[^\s]+$/.test(url)
const blank = (text: string | undefined) => text === undefined || text.trim() === ''

/** What is wrong with one framework version, given the rules it may list. */
function frameworkProblems(f: FrameworkVersion, rules: readonly RuleRef[]): string[] {
  const problems: string[] = []
  if (!/^[a-z0-9]+([.-][a-z0-9]+)*$/.test(f.id)) problems.push('id is not lower-case kebab')
  if (blank(f.title)) problems.push('no title')
  if (blank(f.source.title) || blank(f.source.publisher)) problems.push('source incomplete')
  if (!https(f.source.url)) problems.push(`source url ${f.source.url}`)
  const ids = Object.entries(f.ids)
  if (ids.length === 0) problems.push('no ids')
  for (const [id, title] of ids) if (blank(id) || blank(title)) problems.push(`${id}: no title`)
  const short = ids.map(([id]) => mappingId(id))
  for (const id of new Set(short.filter((id, i) => short.indexOf(id) !== i)))
    problems.push(`${id}: two ids map to it`)
  if (f.mapping && (!/^[a-z0-9_]+$/.test(f.mapping.key) || blank(f.mapping.label)))
    problems.push(`mapping ${JSON.stringify(f.mapping)}`)
  if (!f.mapping && !f.controls) problems.push('neither mapped by rules nor reported')
  if (!f.controls) return problems

  // A report framework: a versioned source, controls with titles, metrics and rules.
  if (blank(f.source.version)) problems.push('report framework without a source version')
  if (f.controls.length === 0) problems.push('no controls')
  const controlIds = f.controls.map((c) => c.id)
  for (const id of new Set(controlIds.filter((id, i) => controlIds.indexOf(id) !== i)))
    problems.push(`${id}: control listed twice`)
  for (const c of f.controls) {
    if (!(c.id in f.ids)) problems.push(`${c.id}: control has no title in ids`)
    if (c.metrics.length === 0) problems.push(`${c.id}: no metric`)
    for (const m of c.metrics)
      if (!(METRIC_IDS as readonly string[]).includes(m)) problems.push(`${c.id}: metric ${m}`)
    if (c.citation) {
      if (!https(c.citation.url)) problems.push(`${c.id}: citation url ${c.citation.url}`)
      if (c.citation.revision !== f.source.version)
        problems.push(`${c.id}: cites revision ${c.citation.revision}`)
    }
    // Mapped frameworks take a control's rules from the rules' mappings; listed ones name them.
    const counted = f.mapping
      ? rules.filter((r) => (r.mappings[f.mapping!.key] ?? []).includes(mappingId(c.id)))
      : (c.rules ?? []).map((id) => rules.find((r) => r.id === id) ?? { id, missing: true })
    if (f.mapping && c.rules) problems.push(`${c.id}: lists rules, but rules map to it`)
    for (const r of counted) if ('missing' in r) problems.push(`${c.id}: no rule ${r.id}`)
    if (!f.mapping && counted.length === 0) problems.push(`${c.id}: lists no rule`)
    if (counted.length === 0 && blank(c.note)) problems.push(`${c.id}: no rule and no note`)
  }
  return problems
}

/** What is wrong across the registry: duplicate ids, fields or labels, and unresolved mappings. */
function registryProblems(
  registry: readonly FrameworkVersion[],
  rules: readonly RuleRef[],
): string[] {
  const problems = registry.flatMap((f) => frameworkProblems(f, rules).map((p) => `${f.id}: ${p}`))
  const repeated = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i)
  for (const id of repeated(registry.map((f) => f.id))) problems.push(`${id}: registered twice`)
  for (const order of repeated(registry.map((f) => String(f.order))))
    problems.push(`order ${order} used twice`)
  for (const label of repeated(registry.map((f) => f.label)))
    problems.push(`framework label ${label} used twice`)
  const mapped = registry.flatMap((f) => (f.mapping ? [f.mapping] : []))
  for (const key of repeated(mapped.map((m) => m.key))) problems.push(`field ${key} used twice`)
  for (const label of repeated(mapped.map((m) => m.label)))
    problems.push(`label ${label} used twice`)
  for (const rule of rules)
    for (const [key, ids] of Object.entries(rule.mappings)) {
      const f = registry.find((g) => g.mapping?.key === key)
      if (!f) problems.push(`${rule.id}: maps to ${key}, no framework has that field`)
      else
        for (const id of ids)
          if (!Object.keys(f.ids).map(mappingId).includes(id))
            problems.push(`${rule.id}: ${key} ${id} is not an id of ${f.id}`)
    }
  return problems
}

/** A deep, writable copy of the registry to break in one place. */
const copy = () => structuredClone(REGISTRY) as unknown as FrameworkVersion[]
const byId = (registry: FrameworkVersion[], id: string) => registry.find((f) => f.id === id)!

describe('the framework registry', () => {
  it('holds every framework file of src/frameworks/ once, each named by its id, in order', async () => {
    const files = versionFiles(DIR)
    expect(files.length).toBeGreaterThanOrEqual(7)
    expect(files).toEqual(REGISTRY.map((f) => `${f.id}.ts`).sort())
    // The folder read at run time gives the same versions, in the same order, as the import list.
    expect(await discoverFrameworks(DIR)).toEqual(REGISTRY)
    const orders = REGISTRY.map((f) => f.order)
    expect(orders).toEqual([...orders].sort((a, b) => a - b))
  })

  it('src/frameworks/versions.ts is what `npm run docs` writes for the folder today', () => {
    expect(readFileSync(`${DIR}versions.ts`, 'utf8')).toBe(renderVersionsModule(versionFiles(DIR)))
  })

  it('has complete framework versions, unique ids, and every rule mapping resolves', () => {
    expect(registryProblems(REGISTRY, RULES)).toEqual([])
    // Not vacuous: rules map to every mapped framework, and controls count them.
    for (const key of MAPPING_KEYS)
      expect(
        RULES.some((r) => r.mappings[key].length > 0),
        key,
      ).toBe(true)
  })

  it('derives the report framework ids and the mapping fields from the files, in registry order', () => {
    expect(FRAMEWORK_IDS).toEqual(REGISTRY.filter((f) => 'controls' in f).map((f) => f.id))
    expect(MAPPING_KEYS).toEqual(REGISTRY.flatMap((f) => ('mapping' in f ? [f.mapping.key] : [])))
    for (const rule of RULES) expect(Object.keys(rule.mappings), rule.id).toEqual(MAPPING_KEYS)
    expect(mappableIds('owasp_nhi')).toContain('NHI4')
    expect(mappableIds('owasp_nhi')).not.toContain('NHI4:2025')
  })

  it('catches each kind of mistake in a framework file', () => {
    const cases: [string, (r: FrameworkVersion[]) => void, string][] = [
      [
        'a control without a title',
        (r) => {
          delete (byId(r, 'nist-csf-2.0').ids as Record<string, string>)['PR.AA-04']
        },
        'nist-csf-2.0: PR.AA-04: control has no title in ids',
      ],
      [
        'a control listed twice',
        (r) => {
          const f = byId(r, 'owasp-asi-2026')
          ;(f.controls as unknown[]).push(f.controls![0])
        },
        'owasp-asi-2026: ASI02: control listed twice',
      ],
      [
        'an unknown metric',
        (r) => {
          ;(byId(r, 'nist-800-207').controls![0]!.metrics as string[]).push('nope')
        },
        'nist-800-207: tenet-1: metric nope',
      ],
      [
        'a source without a URL',
        (r) => {
          byId(r, 'nist-800-53r5').source.url = 'doi.org/10.6028/NIST.SP.800-53r5'
        },
        'nist-800-53r5: source url doi.org/10.6028/NIST.SP.800-53r5',
      ],
      [
        'a report framework without a version',
        (r) => {
          delete byId(r, 'owasp-nhi-2025').source.version
        },
        'owasp-nhi-2025: report framework without a source version',
      ],
      [
        'a framework registered twice',
        (r) => {
          r.push(byId(r, 'mitre-attack'))
        },
        'mitre-attack: registered twice',
      ],
      [
        'a clause listing a rule that does not exist',
        (r) => {
          ;(byId(r, 'mcp-authorization').controls![0]!.rules as string[]).push('no-such-rule')
        },
        'mcp-authorization: mcp-authz/resource-parameter: no rule no-such-rule',
      ],
      [
        'a clause citing another revision',
        (r) => {
          byId(r, 'mcp-authorization').controls![0]!.citation!.revision = '2025-06-18'
        },
        'mcp-authorization: mcp-authz/resource-parameter: cites revision 2025-06-18',
      ],
      [
        'a control no rule counts against, without a note',
        (r) => {
          const f = byId(r, 'nist-800-53r5')
          ;(f.ids as Record<string, string>)['XX-1'] = 'Test Control'
          ;(f.controls as unknown[]).push({ id: 'XX-1', metrics: ['token_presentations'] })
        },
        'nist-800-53r5: XX-1: no rule and no note',
      ],
      [
        'a mapping field used twice',
        (r) => {
          byId(r, 'owasp-asi-2026').mapping!.key = 'owasp_nhi'
        },
        'field owasp_nhi used twice',
      ],
      [
        'two versions in one place',
        (r) => {
          byId(r, 'nist-800-207').order = byId(r, 'nist-csf-2.0').order
        },
        `order ${REGISTRY.find((f) => f.id === 'nist-csf-2.0')!.order} used twice`,
      ],
    ]
    for (const [what, breakIt, expected] of cases) {
      const broken = copy()
      breakIt(broken)
      expect(registryProblems(broken, RULES), what).toContain(expected)
    }
  })

  it('catches a rule mapping that does not resolve', () => {
    const rule = RULES[0]!
    const mappings = { ...rule.mappings, nist_csf: ['PR.AC-1'], extra: ['X1'] }
    expect(registryProblems(REGISTRY, [...RULES.slice(1), { ...rule, mappings }])).toEqual([
      `${rule.id}: nist_csf PR.AC-1 is not an id of nist-csf-2.0`,
      `${rule.id}: maps to extra, no framework has that field`,
    ])
  })

  it('types rule mappings by the registry: an unknown id or field does not compile', () => {
    const ok: Mappings['nist_csf'] = ['PR.AA-04', 'DE.CM-09']
    // @ts-expect-error CSF 1.1 id: not an id of the nist-csf-2.0 file
    const csf11: Mappings['nist_csf'] = ['PR.AC-1']
    // @ts-expect-error rules write NHI ids without the edition suffix
    const suffixed: Mappings['owasp_nhi'] = ['NHI4:2025']
    // @ts-expect-error no framework has this mapping field
    const field: Mappings['owasp_llm'] = []
    expect([ok, csf11, suffixed, field].map((ids) => ids.length)).toEqual([2, 1, 1, 0])
  })
})
