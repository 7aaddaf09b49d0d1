/**
 * GET /v1/rules/{id}, the route added as one file (src/api/routes/rule.ts): one rule of the
 * catalog, exactly as the catalog lists it, for viewers; the guard's answers before the handler's.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, testStorage } from '../helpers/storage.js'

let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  keys = await apiKeys()
  app = await testApp(keys, { storage: testStorage('api_rule') })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

async function get(url: string, roles: string[] | null = ['viewer']) {
  const headers = roles ? { authorization: `Bearer ${await keys.token({ roles })}` } : undefined
  return app.inject({ method: 'GET', url, headers })
}

describe('GET /v1/rules/{id}', () => {
  it('answers each rule as GET /v1/rules lists it, runbook and mappings included', async () => {
    const listed = (await get('/v1/rules')).json().items as { id: string; runbook: string[] }[]
    expect(listed.map((r) => r.id).sort()).toEqual(RULES.map((r) => r.id).sort())
    for (const rule of listed) {
      const res = await get(`/v1/rules/${rule.id}`)
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual(rule)
      expect(rule.runbook.length).toBeGreaterThan(0)
    }
  })

  it('answers an unknown rule 404 and an id no rule could have 400, in the error model', async () => {
    const unknown = await get('/v1/rules/no-such-rule')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toEqual({
      statusCode: 404,
      code: 'ERR_NOT_FOUND',
      message: 'no such rule',
    })
    for (const id of ['Upper-Case', 'a'.repeat(65), 'dots.are.not.ids']) {
      const res = await get(`/v1/rules/${id}`)
      expect(res.statusCode, id).toBe(400)
      expect(res.json(), id).toEqual({
        statusCode: 400,
        code: 'ERR_BAD_REQUEST',
        message: 'id: not a rule id',
      })
    }
  })

  it('authenticates, then checks the role, before it reads the id', async () => {
    const id = RULES[0]!.id
    expect((await get(`/v1/rules/${id}`, null)).json().code).toBe('ERR_AUTH_MISSING')
    expect((await get('/v1/rules/Not-An-Id', null)).statusCode).toBe(401)
    for (const roles of [[], ['ingest']]) {
      expect((await get(`/v1/rules/${id}`, roles)).json().code).toBe('ERR_FORBIDDEN')
      expect((await get('/v1/rules/Not-An-Id', roles)).statusCode).toBe(403)
    }
    for (const role of ['viewer', 'analyst', 'admin'])
      expect((await get(`/v1/rules/${id}`, [role])).statusCode).toBe(200)
    // HEAD, the route Fastify adds for each GET, passes the same hook.
    expect((await app.inject({ method: 'HEAD', url: `/v1/rules/${id}` })).statusCode).toBe(401)
  })

  it('is in the OpenAPI document with its role, parameter and 404', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs' })).json()
    const operation = document.paths['/v1/rules/{id}'].get
    expect(operation).toMatchObject({
      operationId: 'getRule',
      'x-audtrail-role': 'viewer',
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { pattern: '^[a-z0-9-]{1,64}$' } },
      ],
      responses: {
        200: {
          content: { 'application/json': { schema: { $ref: '#/components/schemas/RuleEntry' } } },
        },
        404: { description: 'no such rule' },
      },
    })
  })
})
