/** Exceptions for admins: list, create (scoped, owned, expiring), delete; tenant-bound. */
import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { createException, deleteException } from '../../detection/exceptions.js'
import { RULES } from '../../detection/rules/index.js'
import { mapStorageError } from '../../storage/errors.js'
import { loadQuery } from '../../storage/sql.js'
import { requireRole } from '../auth.js'
import { ApiError } from '../errors.js'
import { ExceptionListSchema, ExceptionSchema } from '../schemas/exception.js'
import { badRequest, responses, tenantOf, type QueryDeps } from './common.js'

const RULE_IDS = RULES.map((r) => r.id)
const MAX_LIFETIME_MS = 366 * 86_400_000

export const NewException = z.strictObject({
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

interface Row {
  id: string
  rule_id: string
  match: Record<string, string>
  owner: string
  reason: string
  created_at: string
  expires_at: string
  active: boolean
}

const iso = (dt: string) => `${dt.replace(' ', 'T')}Z`
const present = (r: Row) => ({ ...r, created_at: iso(r.created_at), expires_at: iso(r.expires_at) })

export const exceptionsRoutes: FastifyPluginAsync<QueryDeps> = async (
  app,
  { storage, authenticate },
) => {
  async function list(tenant: string, id = ''): Promise<Row[]> {
    try {
      const rs = await storage.client.query({
        query: loadQuery('exceptions-list', storage.database),
        query_params: { tenant, id },
        format: 'JSONEachRow',
      })
      return await rs.json<Row>()
    } catch (err) {
      throw mapStorageError(err, 'list exceptions')
    }
  }

  app.get(
    '/exceptions',
    { schema: { response: responses({ 200: ExceptionListSchema }) } },
    async (request) => {
      const caller = await authenticate(request.headers.authorization)
      requireRole(caller, 'admin')
      const tenant = tenantOf(caller, (request.query as { tenant?: string }).tenant)
      return { items: (await list(tenant)).map(present), next_cursor: null }
    },
  )

  app.post(
    '/exceptions',
    { schema: { response: responses({ 201: ExceptionSchema }) } },
    async (request, reply) => {
      const caller = await authenticate(request.headers.authorization)
      requireRole(caller, 'admin')
      const body = NewException.safeParse(request.body)
      if (!body.success) throw badRequest(body.error)
      const expiresAt = Date.parse(body.data.expires_at)
      if (expiresAt <= Date.now() || expiresAt > Date.now() + MAX_LIFETIME_MS)
        throw new ApiError(
          400,
          'ERR_BAD_REQUEST',
          'expires_at: must be in the future and within a year',
        )
      const tenant = tenantOf(caller, (request.query as { tenant?: string }).tenant)
      const id = await createException(storage, { tenant, ...body.data, expiresAt })
      const [created] = await list(tenant, id)
      return reply.status(201).send(present(created!))
    },
  )

  app.delete(
    '/exceptions/:id',
    { schema: { response: responses({ 204: null }) } },
    async (request, reply) => {
      const caller = await authenticate(request.headers.authorization)
      requireRole(caller, 'admin')
      const id = (request.params as { id: string }).id
      if (!/^[0-9a-f-]{36}$/.test(id))
        throw new ApiError(400, 'ERR_BAD_REQUEST', 'id: not an exception id')
      const tenant = tenantOf(caller, (request.query as { tenant?: string }).tenant)
      const [existing] = await list(tenant, id)
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
  )
}
