/**
 * A framework as a report decides it: the registry's framework version (src/frameworks/) with each
 * control's title, its evidence metrics, and the rules whose findings count against it.
 */
import type { Citation, FrameworkId, Source } from '../frameworks/index.js'
import type { MetricId } from './metrics.js'

export {
  citeSource,
  FRAMEWORK_IDS,
  mappingId,
  type Citation,
  type FrameworkId,
  type Source,
} from '../frameworks/index.js'

export interface Control {
  /** Exactly as the standard writes it (`NHI4:2025`, `ASI03`, `PR.AA-04`, `AC-6(9)`); MCP clauses and 800-207 tenets get stable ids (`mcp-authz/token-handling`, `tenet-3`). */
  id: string
  /** The standard's title or outcome text, verbatim. */
  title: string
  metrics: readonly MetricId[]
  /** The rules whose findings count against the control. */
  rules: readonly string[]
  citation?: Citation
  /** Why the control is in the catalog when no rule maps to it (cross-cutting ones). */
  note?: string
}

export interface Framework {
  id: FrameworkId
  title: string
  /** The public document the ids and titles come from. */
  source: Source
  controls: readonly Control[]
}
