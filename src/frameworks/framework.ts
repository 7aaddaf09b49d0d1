/**
 * The shape of one framework version in the registry (docs/design/frameworks.md): the public
 * document it comes from, the ids audtrail uses with their titles verbatim, and, for a report
 * framework, the controls a compliance report decides with the metrics that are their evidence.
 * Pure data: this folder imports nothing from the rest of `src/`.
 */

/** The public document a framework's ids and titles come from, as reports cite it. */
export interface Source {
  /** The document's title, with its series number where it has one (`NIST SP 800-207, ...`). */
  title: string
  publisher: string
  /** The edition, revision or publication date that the ids and titles are taken from. */
  version: string
  url: string
}

/**
 * Where a clause is cited from: the specification revision, its section's URL and, when given,
 * its text verbatim.
 */
export interface Citation {
  revision: string
  url: string
  quote?: string
}

/** A control a compliance report decides. Its title is the `ids` entry of its id. */
export interface ControlDef {
  /** A key of the framework's `ids`. */
  id: string
  /** Metric ids (`src/reports/metrics.ts`; the compiler checks them where reports read them). */
  metrics: readonly string[]
  /** Listed frameworks only: the rules that count against the control. */
  rules?: readonly string[]
  citation?: Citation
  /** Why the control is in the catalog when no rule maps to it (cross-cutting ones). */
  note?: string
}

/** One framework version, as one file of `src/frameworks/` declares it. */
export interface FrameworkVersion {
  /** Stable id, also the file's name (`owasp-nhi-2025` in `owasp-nhi-2025.ts`). */
  id: string
  /** The title a report gives the framework. */
  title: string
  /**
   * Its place in the registry: reports of `all`, the API's `framework` values and the docs list
   * frameworks by ascending `order` (no two alike; the registry test checks). Leave gaps (10, 20).
   */
  order: number
  /** The short name docs/api.md lists the id with (`NIST SP 800-207, Zero Trust Architecture`). */
  label: string
  /** The public document; `version` is absent only for a catalog that is not versioned (MITRE ATT&CK). */
  source: Omit<Source, 'version'> & { version?: string }
  /**
   * Present when rules name this framework's ids in their `mappings`: the field (`owasp_nhi`) and
   * the label the rule catalog prints. Absent when the controls list their rules (MCP clauses).
   */
  mapping?: { key: string; label: string }
  /**
   * Every id audtrail uses, written as the document writes it (`NHI4:2025`, `AC-6(9)`), with its
   * title verbatim. Rules map to the id without a `:YYYY` edition suffix (`NHI4`).
   */
  ids: Readonly<Record<string, string>>
  /** The controls a compliance report decides; absent for a catalog rules only cite (MITRE ATT&CK). */
  controls?: readonly ControlDef[]
  /**
   * Markdown paragraphs docs/spec/frameworks.md prints after the framework's tables: how the ids
   * and titles were checked, what an edition changed, why rules map where they do.
   */
  notes?: string
  /** Markdown docs/spec/frameworks.md prints before the id table (what the titles are). */
  preface?: string
}

/** Declares a framework version; `const` keeps its ids and keys as literal types for the registry. */
export function defineFramework<const F extends FrameworkVersion>(framework: F): F {
  return framework
}

/** Framework versions in registry order (ascending `order`); the list itself is not changed. */
export function inRegistryOrder<F extends { order: number }>(versions: readonly F[]): readonly F[] {
  return [...versions].sort((a, b) => a.order - b.order)
}

/** The id a rule's `mappings` uses: `NHI4` for `NHI4:2025`, else the id itself. */
export type MappingId<S extends string> = S extends `${infer Id}:${number}` ? Id : S

/** The id a rule's `mappings` uses for a control: `NHI4` for `NHI4:2025`, else the id itself. */
export function mappingId(controlId: string): string {
  return controlId.replace(/:\d{4}$/, '')
}

/** A source in one line, as the CSV and HTML renderings print it. */
export function citeSource(source: Source): string {
  return `${source.title} (${source.publisher}, ${source.version}), ${source.url}`
}
