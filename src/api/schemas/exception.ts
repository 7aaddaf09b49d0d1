/** An exception (a scoped, owned, expiring suppression) as admins see it. */
import { z } from 'zod'
import { Instant } from './common.js'
import { listOf } from './list.js'
import { COMPONENTS } from './json-schema.js'

export const ExceptionSchema = z.object({
  id: z.uuid(),
  rule_id: z.string().describe('a rule id, or * for every rule'),
  match: z.record(z.string(), z.string()).describe('key values a finding must carry'),
  owner: z.string(),
  reason: z.string(),
  created_at: Instant,
  expires_at: Instant,
  active: z.boolean().describe('false once expired'),
})

export const ExceptionListSchema = listOf(ExceptionSchema)

// Their names in the OpenAPI document (components).
COMPONENTS.add(ExceptionSchema, { component: 'Exception' })
COMPONENTS.add(ExceptionListSchema, { component: 'ExceptionList' })
