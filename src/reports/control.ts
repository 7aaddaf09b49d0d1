/**
 * The shape of a framework in the report catalog: controls with ids and titles exactly as the
 * framework's public document writes them (catalogued in docs/spec/frameworks.md), the metrics
 * that are their evidence, and the rules whose findings count against them.
 */
import type { Mappings } from '../detection/rule.js'
import { RULES } from '../detection/rules/index.js'
import type { MetricId } from './metrics.js'

export const FRAMEWORK_IDS = [
  'owasp-nhi-2025',
  'owasp-asi-2026',
  'nist-csf-2.0',
  'nist-800-53r5',
  'nist-800-207',
  'mcp-authorization',
] as const
export type FrameworkId = (typeof FRAMEWORK_IDS)[number]

/**
 * Where a clause is cited from: the specification revision, its section's URL and, when given,
 * its text verbatim.
 */
export interface Citation {
  revision: string
  url: string
  quote?: string
}

export interface ControlDef {
  /** Exactly as the standard writes it (`NHI4:2025`, `ASI03`, `PR.AA-04`, `AC-6(9)`); MCP clauses and 800-207 tenets get stable ids (`mcp-authz/token-handling`, `tenet-3`). */
  id: string
  /** The standard's title or outcome text, verbatim. */
  title: string
  metrics: readonly MetricId[]
  /** MCP clauses only: the rules that count against the clause (docs/spec/mcp-authorization.md). */
  rules?: readonly string[]
  citation?: Citation
  /** Why the control is in the catalog when no rule maps to it (cross-cutting ones). */
  note?: string
}

export interface Control extends ControlDef {
  rules: readonly string[]
}

/** The public document a framework's ids and titles come from, as reports cite it. */
export interface Source {
  /** The document's title, with its series number where it has one (`NIST SP 800-207, ...`). */
  title: string
  publisher: string
  /** The edition, revision or publication date that the ids and titles are taken from. */
  version: string
  url: string
}

export interface Framework {
  id: FrameworkId
  title: string
  /** The public document the ids and titles come from. */
  source: Source
  controls: readonly Control[]
}

/** A source in one line, as the CSV and HTML renderings print it. */
export function citeSource(source: Source): string {
  return `${source.title} (${source.publisher}, ${source.version}), ${source.url}`
}

/** The id a rule's `mappings` uses for a control: `NHI4` for `NHI4:2025`, else the id itself. */
export function mappingId(controlId: string): string {
  return controlId.replace(/:\d{4}$/, '')
}

/**
 * A framework whose rules come from the rules' `mappings` field: a rule counts against a control
 * when it maps to the control's id.
 */
export function mappedFramework(
  meta: Omit<Framework, 'controls'>,
  field: Exclude<keyof Mappings, 'mitre'>,
  controls: readonly ControlDef[],
): Framework {
  return {
    ...meta,
    controls: controls.map((c) => ({
      ...c,
      rules: RULES.filter((r) => r.mappings[field].includes(mappingId(c.id))).map((r) => r.id),
    })),
  }
}

/** A framework whose controls list their rules themselves (the MCP clauses). */
export function listedFramework(
  meta: Omit<Framework, 'controls'>,
  controls: readonly ControlDef[],
): Framework {
  return { ...meta, controls: controls.map((c) => ({ ...c, rules: c.rules ?? [] })) }
}
