/**
 * Exceptions for admins: list, create (scoped, owned, expiring), delete; tenant-bound. An
 * exception matches on its rule's dedup keys only (the key values its findings carry; any rule's
 * for `*`): another key is refused with the keys allowed.
 */
import type { FastifyRequest } from 'fastify'
import { z } from 'zod'
import { allowedMatchKeys, createException, deleteException } from '../../detection/exceptions.js'
import { RULES } from '../../detection/rules/index.js'
import type { ExceptionListRow } from '../../storage/repositories.js'
import { ApiError } from '../errors.js'
import { tenantOf } from '../params.js'
import { defineRoute } from '../route.js'
import { ExceptionListSchema, ExceptionSchema } from '../schemas/exception.js'

const RULE_IDS = RULES.map((r) => r.id)
const MAX_LIFETIME_MS = 366 * 86_400_000

export const NewException = z
  .strictObject({
    rule_id: z.enum(['*', ...RULE_IDS], { message: 'not a rule id (or *)' }),
    match: z
      .record(z.string().regex(/^[a-z_]{1,64}$/), z.string().min(1).max(2048))
      .refine((m) => Object.keys(m).length > 0 && Object.keys(m).length <= 8, {
        message: 'scope the exception with 1 to 8 key values',
      }),
    owner: z.string().min(1).max(256),
    reason: z.string().min(1).max(2000),
    expires_at: z.iso.datetime({ offset: true }),
  })
  // A key the rule's findings never carry would match nothing: refused, with the keys allowed.
  .superRefine((e, ctx) => {
    const allowed = allowedMatchKeys(RULES, e.rule_id)
    const unknown = Object.keys(e.match).filter((k) => !allowed.includes(k))
    if (unknown.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['match'],
        message: `${unknown.join(', ')}: not a key of ${e.rule_id === '*' ? 'any rule' : `rule ${e.rule_id}`}; allowed keys: ${allowed.join(', ')}`,
      })
  })

const iso = (dt: string) => `${dt.replace(' ', 'T')}Z`
const present = (r: ExceptionListRow) => ({
  ...r,
  created_at: iso(r.created_at),
  expires_at: iso(r.expires_at),
})

/** The `tenant` query parameter (open mode only), as the request has it. */
const requested = (request: FastifyRequest) => (request.query as { tenant?: string }).tenant

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/exceptions',
    operationId: 'listExceptions',
    summary: 'Exceptions of the tenant',
    role: 'admin',
    serves: 'queries',
    responses: { 200: ExceptionListSchema },
    links: {
      200: {
        DeleteFirstException: {
          operationId: 'deleteException',
          parameter: 'id',
          pointer: 'items/0/id',
        },
      },
    },
    handler: async ({ request, caller, deps: { storage } }) => {
      const tenant = tenantOf(caller, requested(request))
      return { items: (await storage.exceptions.list(tenant)).map(present), next_cursor: null }
    },
  }),

  defineRoute({
    method: 'POST',
    url: '/v1/exceptions',
    operationId: 'createException',
    summary: 'Create a scoped, owned, expiring exception',
    role: 'admin',
    serves: 'queries',
    body: NewException,
    responses: { 201: { description: 'created', schema: ExceptionSchema } },
    links: {
      201: {
        DeleteException: { operationId: 'deleteException', parameter: 'id', pointer: 'id' },
      },
    },
    handler: async ({ request, reply, caller, body, deps: { storage } }) => {
      const expiresAt = Date.parse(body.expires_at)
      if (expiresAt <= Date.now() || expiresAt > Date.now() + MAX_LIFETIME_MS)
        throw new ApiError(
          400,
          'ERR_BAD_REQUEST',
          'expires_at: must be in the future and within a year',
        )
      const tenant = tenantOf(caller, requested(request))
      const id = await createException(storage, { tenant, ...body, expiresAt })
      const [created] = await storage.exceptions.list(tenant, id)
      return reply.status(201).send(present(created!))
    },
  }),

  defineRoute({
    method: 'DELETE',
    url: '/v1/exceptions/:id',
    operationId: 'deleteException',
    summary: 'Withdraw an exception',
    role: 'admin',
    serves: 'queries',
    params: z.strictObject({ id: z.string().regex(/^[0-9a-f-]{36}$/, 'not an exception id') }),
    responses: { 204: { description: 'deleted', schema: null } },
    errors: { 404: 'no such exception' },
    handler: async ({ request, reply, caller, params: { id }, deps: { storage } }) => {
      const tenant = tenantOf(caller, requested(request))
      const [existing] = await storage.exceptions.list(tenant, id)
      if (!existing) throw new ApiError(404, 'ERR_NOT_FOUND', 'no such exception')
      await deleteException(storage, {
        tenant,
        exception_id: existing.id,
        rule_id: existing.rule_id,
        match: existing.match,
        owner: existing.owner,
        reason: existing.reason,
        created_at: existing.created_at,
        expires_at: existing.expires_at,
      })
      return reply.status(204).send()
    },
  }),
]
