/**
 * The framework registry: every framework version audtrail knows, one file each, in report order
 * (docs/design/frameworks.md). Everything else derives from this list: the report framework ids,
 * the fields of a rule's `mappings` and the ids each may hold, the API's mappings schema, the rule
 * catalog's labels. test/frameworks/registry.test.ts checks that every file of this folder is
 * listed here and that each one is complete.
 */
import { mappingId, type MappingId } from './framework.js'
import mcpAuthorization from './mcp-authorization.js'
import mitreAttack from './mitre-attack.js'
import nist800207 from './nist-800-207.js'
import nist80053r5 from './nist-800-53r5.js'
import nistCsf20 from './nist-csf-2.0.js'
import owaspAsi2026 from './owasp-asi-2026.js'
import owaspNhi2025 from './owasp-nhi-2025.js'

export {
  citeSource,
  mappingId,
  type Citation,
  type ControlDef,
  type FrameworkVersion,
  type Source,
} from './framework.js'

export const REGISTRY = [
  owaspNhi2025,
  owaspAsi2026,
  nistCsf20,
  nist80053r5,
  nist800207,
  mcpAuthorization,
  mitreAttack,
] as const

type Entry = (typeof REGISTRY)[number]

/** The frameworks a compliance report covers: those with controls. */
export type ReportedFramework = Extract<Entry, { controls: readonly unknown[] }>
export type FrameworkId = ReportedFramework['id']

/** The report framework ids, in report order (the API's and the CLI's `framework` values). */
export const FRAMEWORK_IDS = REGISTRY.flatMap((f) => ('controls' in f ? [f.id] : [])) as [
  FrameworkId,
  ...FrameworkId[],
]

/** The frameworks rules map to by id. */
type MappedFramework = Extract<Entry, { mapping: { key: string } }>
/** The fields of a rule's `mappings`, one per mapped framework. */
export type MappingKey = MappedFramework['mapping']['key']
/** The ids a rule may write in `mappings[K]`: the framework's ids without an edition suffix. */
export type MappingIdOf<K extends MappingKey> = MappingId<
  Extract<keyof Extract<MappedFramework, { mapping: { key: K } }>['ids'], string>
>

/** A rule's framework mappings: for every mapped framework, the ids the rule maps to (maybe none). */
export type Mappings = { readonly [K in MappingKey]: readonly MappingIdOf<K>[] }

/** The mapped frameworks, in registry order, by their `mappings` field. */
export const MAPPED: readonly MappedFramework[] = REGISTRY.filter(
  (f): f is MappedFramework => 'mapping' in f,
)

/** The fields of `Mappings`, in registry order. */
export const MAPPING_KEYS = MAPPED.map((f) => f.mapping.key) as [MappingKey, ...MappingKey[]]

/** The ids a rule may map to with `field`, as rules write them (`NHI4`, `AC-6(9)`). */
export function mappableIds(field: MappingKey): readonly string[] {
  const framework = MAPPED.find((f) => f.mapping.key === field)
  return Object.keys(framework?.ids ?? {}).map(mappingId)
}

/** The ids `mappings[field]` holds, widened to strings for lookups. */
export function mappedIds(mappings: Mappings, field: MappingKey): readonly string[] {
  return mappings[field]
}
