import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseEvent } from '../../src/events/index.js'
import { runExample } from '../../src/detection/examples.js'
import { SEVERITIES, type Rule } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import { MAPPED, mappableIds, mappedIds, mappingId } from '../../src/frameworks/index.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'
import { migrate } from '../../src/storage/migrate.js'
import { loadSql } from '../../src/storage/sql.js'
import { section, spec, table } from '../helpers/markdown.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// The repository's own contract (docs/spec): the rule catalog and the framework catalogs.
const RULE_CATALOG = spec('rule-catalog.md')
const FRAMEWORKS = spec('frameworks.md')

/** The table of docs/spec/rule-catalog.md: id -> default severity. */
function catalog(): Map<string, string> {
  const rows = table(section(RULE_CATALOG, '## Rules'), 'id')
  return new Map(rows.map(([id, , severity]) => [id!.replace(/^`(.*)`$/, '$1'), severity!]))
}

/** A section's "id | title" table: id -> title, ids as the document writes them (`NHI4:2025`). */
function catalogued(framework: string): Map<string, string> {
  const rows = table(section(FRAMEWORKS, `## ${framework}`), 'id')
  return new Map(rows.map(([id, title]) => [id!, title!]))
}

const storage = testStorage('rules_examples')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

describe('the rule catalog', () => {
  it('holds exactly the rules of docs/spec/rule-catalog.md, each once, with its default severity', () => {
    const expected = catalog()
    expect(expected.size).toBe(25)
    const problems: string[] = []
    const ids = RULES.map((r) => r.id)
    for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i)))
      problems.push(`${id}: registered twice`)
    for (const id of expected.keys()) if (!ids.includes(id)) problems.push(`${id}: missing`)
    for (const rule of RULES) {
      const severity = expected.get(rule.id)
      if (severity === undefined) problems.push(`${rule.id}: not in the catalog`)
      else if (rule.severity !== severity)
        problems.push(`${rule.id}: severity ${rule.severity}, catalog says ${severity}`)
    }
    expect(problems).toEqual([])
  })

  it('allows exactly the framework ids docs/spec/frameworks.md catalogs, per mapping field', () => {
    const problems: string[] = []
    for (const { id: framework, mapping, ids } of MAPPED) {
      const listed = catalogued(framework)
      expect(listed.size, framework).toBeGreaterThan(0)
      for (const [id, title] of Object.entries(ids))
        if (listed.get(id) !== title) problems.push(`${framework}: ${id} ${title} not catalogued`)
      for (const id of listed.keys())
        if (!(id in ids)) problems.push(`${framework}: ${id} not in src/frameworks/`)
      // Rules write the ids without the edition suffix: NHI4 for NHI4:2025.
      expect(mappableIds(mapping.key)).toEqual([...listed.keys()].map(mappingId))
    }
    expect(problems).toEqual([])
  })

  it('has complete metadata, valid mappings, parameters with defaults and examples both ways', () => {
    const problems: string[] = []
    for (const rule of RULES) problems.push(...lint(rule).map((p) => `${rule.id}: ${p}`))
    expect(problems).toEqual([])
  })

  it('fires on every positive example and stays silent on every negative one', async () => {
    const problems: string[] = []
    for (const rule of RULES) {
      for (const [i, example] of rule.examples.entries()) {
        const where = `${rule.id} / ${example.name}`
        try {
          const tenant = `${rule.id}-${i}`
          const detections = await runExample(rule, example, storage, tenant)
          if (example.fires && detections.length === 0) problems.push(`${where}: did not fire`)
          if (!example.fires && detections.length > 0)
            problems.push(`${where}: fired ${JSON.stringify(detections.map((d) => d.keys))}`)
          for (const d of detections) {
            const keys = Object.keys(d.keys).sort()
            if (keys.join() !== [...rule.dedupKey].sort().join())
              problems.push(`${where}: keys ${keys.join()} are not the dedup key`)
            if (d.eventIds.length === 0) problems.push(`${where}: no event ids`)
            if (!Number.isFinite(d.at)) problems.push(`${where}: no time`)
            const severity = d.severity ?? rule.severity
            if (example.severity !== undefined && severity !== example.severity)
              problems.push(`${where}: severity ${severity}, expected ${example.severity}`)
          }
        } catch (err) {
          problems.push(`${where}: threw ${(err as Error).message}`)
        }
      }
    }
    expect(problems).toEqual([])
  })
})

function lint(rule: Rule): string[] {
  const problems: string[] = []
  if (!/^[a-z]+(-[a-z]+)*$/.test(rule.id)) problems.push('id is not kebab-case')
  if (!(SEVERITIES as readonly string[]).includes(rule.severity)) problems.push('bad severity')
  for (const field of ['title', 'description', 'rationale'] as const)
    if (rule[field].trim() === '') problems.push(`empty ${field}`)
  for (const field of ['references', 'falsePositives', 'runbook'] as const)
    if (rule[field].length === 0) problems.push(`no ${field}`)
  for (const { mapping } of MAPPED) {
    const field = mapping.key
    const ids = mappedIds(rule.mappings, field)
    const allowed = mappableIds(field)
    if (!Array.isArray(ids)) problems.push(`mappings.${field} missing`)
    else for (const id of ids) if (!allowed.includes(id)) problems.push(`${field}: unknown ${id}`)
  }
  if (rule.mappings.owasp_nhi.length + rule.mappings.nist_csf.length === 0)
    problems.push('no OWASP NHI or CSF mapping')
  const parsed = rule.params.safeParse({})
  if (!parsed.success) problems.push(`params do not parse with defaults: ${parsed.error.message}`)
  if (rule.dedupKey.length === 0) problems.push('empty dedup key')
  if (!(rule.dedupWindowS > 0)) problems.push('dedup window not positive')
  if (!rule.examples.some((e) => e.fires)) problems.push('no positive example')
  if (!rule.examples.some((e) => !e.fires)) problems.push('no negative example')
  const names = rule.examples.map((e) => e.name)
  if (new Set(names).size !== names.length) problems.push('example names repeat')
  for (const example of rule.examples) {
    if (example.events.length === 0) problems.push(`${example.name}: no events`)
    for (const [i, event] of example.events.entries()) {
      const result = parseEvent(structuredClone(event))
      if (!result.ok) problems.push(`${example.name}: event ${i}: ${result.reasons.join('; ')}`)
    }
    if (example.params !== undefined && !rule.params.safeParse(example.params).success)
      problems.push(`${example.name}: params do not parse`)
    if (example.registry !== undefined) {
      try {
        parseResourceRegistry(example.registry)
      } catch (err) {
        problems.push(`${example.name}: registry: ${(err as Error).message}`)
      }
    }
  }
  if (rule.kind === 'scheduled') problems.push(...lintSql(rule))
  return problems
}

/** Scheduled SQL: only `{name:Type}` parameters, each one bound by the runner or the rule. */
function lintSql(rule: Extract<Rule, { kind: 'scheduled' }>): string[] {
  let sql: string
  try {
    sql = loadSql('rules', rule.sql, 'audtrail')
  } catch (err) {
    return [`sql ${rule.sql}: ${(err as Error).message}`]
  }
  const problems: string[] = []
  const bound = new Set(['from', 'to', ...Object.keys(rule.queryParams(rule.params.parse({})))])
  const used = new Set([...sql.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*):[^}]+\}/g)].map((m) => m[1]!))
  for (const name of used) if (!bound.has(name)) problems.push(`sql uses unbound {${name}}`)
  for (const name of bound) if (!used.has(name)) problems.push(`parameter ${name} unused in sql`)
  if (!/\btenant\b/.test(sql)) problems.push('sql returns no tenant')
  if (!/\bFINAL\b/.test(sql)) problems.push('sql reads events without FINAL')
  return problems
}
