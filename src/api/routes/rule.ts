/**
 * GET /v1/rules/{id}: one rule of the catalog (metadata, mappings, runbook, parameter defaults),
 * for the finding an analyst has open (its `rule_id`) without fetching the whole catalog.
 */
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { defineRoute } from '../route.js'
import { RuleEntrySchema } from '../schemas/catalog.js'
import { catalogEntries } from './catalog.js'

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/rules/:id',
    operationId: 'getRule',
    summary: 'One rule of the catalog: mappings, runbook, parameter defaults',
    role: 'viewer',
    serves: 'queries',
    params: z.strictObject({ id: z.string().regex(/^[a-z0-9-]{1,64}$/, 'not a rule id') }),
    responses: { 200: RuleEntrySchema },
    errors: { 404: 'no such rule' },
    handler: async ({ params: { id } }) => {
      const rule = catalogEntries().find((r) => r.id === id)
      if (!rule) throw new ApiError(404, 'ERR_NOT_FOUND', 'no such rule')
      return rule
    },
  }),
]
