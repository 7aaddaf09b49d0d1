/** Small schemas the response bodies share: timestamps, counts, framework mappings. */
import { z } from 'zod'

/** An RFC 3339 UTC timestamp with milliseconds, as every response spells time. */
export const Instant = z.iso.datetime({ precision: 3 })

export const Count = z.number().int().min(0)

/** Framework mappings of a rule (ids as docs/spec/frameworks.md lists them). */
export const MappingsSchema = z.object({
  owasp_nhi: z.array(z.string()),
  owasp_asi: z.array(z.string()),
  nist_csf: z.array(z.string()),
  nist_800_53: z.array(z.string()),
  nist_800_207: z.array(z.string()),
  mitre: z.array(z.string()),
})
