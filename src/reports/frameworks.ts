/**
 * The frameworks a compliance report covers, by id, in report order: the registry's report
 * frameworks (src/frameworks/) with each control's title and rules resolved. A control of a mapped
 * framework counts the rules whose `mappings` name its id; a listed framework's control names its
 * rules itself (the MCP clauses).
 */
import {
  mappedIds,
  mappingId,
  REGISTRY,
  type ControlDef,
  type FrameworkVersion,
  type MappingKey,
  type ReportedFramework,
} from '../frameworks/index.js'
import { RULES } from '../detection/rules/index.js'
import type { Control, Framework, FrameworkId, Source } from './control.js'
import type { MetricId } from './metrics.js'

/**
 * A report framework as this module reads it; the registry must be assignable to it, so the
 * compiler checks every metric id and that each report framework cites a versioned source.
 */
interface Reported extends Omit<FrameworkVersion, 'controls'> {
  id: FrameworkId
  source: Source
  controls: readonly (ControlDef & { metrics: readonly MetricId[] })[]
}

const REPORTED: readonly Reported[] = REGISTRY.filter(
  (f): f is ReportedFramework => 'controls' in f,
)

function resolve(fw: Reported): Framework {
  const field = fw.mapping?.key as MappingKey | undefined
  const controls = fw.controls.map((c): Control => ({
    id: c.id,
    title: fw.ids[c.id]!,
    metrics: c.metrics,
    rules:
      field === undefined
        ? (c.rules ?? [])
        : RULES.filter((r) => mappedIds(r.mappings, field).includes(mappingId(c.id))).map(
            (r) => r.id,
          ),
    ...(c.citation ? { citation: c.citation } : {}),
    ...(c.note ? { note: c.note } : {}),
  }))
  return { id: fw.id, title: fw.title, source: fw.source, controls }
}

export const FRAMEWORKS = Object.fromEntries(REPORTED.map((f) => [f.id, resolve(f)])) as Readonly<
  Record<FrameworkId, Framework>
>
