/** What the query routes share: the tenant a caller may see, and 400s from zod problems. */
import type { z } from 'zod'
import type { Caller } from '../auth.js'
import { ApiError } from '../errors.js'

/** The caller's tenant; in open mode (loopback, no API keys) a `tenant` parameter, else default. */
export function tenantOf(caller: Caller, requested?: string): string {
  if (caller.tenant !== undefined) return caller.tenant
  return typeof requested === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(requested)
    ? requested
    : 'default'
}

export function badRequest(error: z.ZodError): ApiError {
  const problems = error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`)
  return new ApiError(400, 'ERR_BAD_REQUEST', problems.join('; '))
}
