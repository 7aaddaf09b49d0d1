/** Small schemas the response bodies share: timestamps, counts, framework mappings. */
import { z } from 'zod'
import { MAPPING_KEYS, type MappingKey } from '../../frameworks/index.js'

/** An RFC 3339 UTC timestamp with milliseconds, as every response spells time. */
export const Instant = z.iso.datetime({ precision: 3 })

export const Count = z.number().int().min(0)

/** Framework mappings of a rule: one array of ids per mapped framework of the registry. */
export const MappingsSchema = z.object(
  Object.fromEntries(MAPPING_KEYS.map((key) => [key, z.array(z.string())])) as Record<
    MappingKey,
    z.ZodArray<z.ZodString>
  >,
)
