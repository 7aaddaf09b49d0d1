/**
 * Route declarations (src/api/route.ts): the modules of src/api/routes/ are found without a list,
 * as the built ones are in dist/; declarations that contradict each other are refused; the one
 * hook answers 401, 403, then 400 for the path, the query and the body, before any handler runs.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createAuthenticator } from '../../src/api/auth.js'
import { installErrorHandler } from '../../src/api/errors.js'
import {
  checkRoutes,
  defineRoute,
  installRouteGuard,
  loadRouteModules,
  loadRoutes,
  registerRoutes,
  type Route,
} from '../../src/api/route.js'
import { Metrics } from '../../src/metrics.js'
import { apiKeys } from '../helpers/api-tokens.js'

const temp: string[] = []
afterAll(() => temp.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

/** A directory of route modules, as tsc writes them to dist/api/routes/. */
function moduleDir(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), 'audtrail-routes-'))
  temp.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return pathToFileURL(`${dir}/`)
}

const declaration = (url: string, operationId: string) =>
  `{ method: 'GET', url: '${url}', operationId: '${operationId}', summary: 's', role: 'viewer', responses: { 200: null }, handler: async () => null }`

describe('finding the route modules', () => {
  it('loads every module of src/api/routes/, each with its routes', async () => {
    const loaded = await loadRoutes()
    const dir = new URL('../../src/api/routes/', import.meta.url)
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThanOrEqual(8)
    for (const file of files) {
      const { routes } = (await import(new URL(file, dir).href)) as { routes: Route[] }
      expect(routes.length, file).toBeGreaterThan(0)
      for (const route of routes) expect(loaded, `${file}: ${route.url}`).toContain(route)
    }
    expect(loaded.map((r) => `${r.method} ${r.url}`)).toContain('GET /v1/rules/:id')
  })

  it('loads built modules (.js) in file name order, passing over source maps and typings', async () => {
    const dir = moduleDir({
      'b.js': `export const routes = [${declaration('/v1/b', 'b')}]`,
      'a.js': `export const routes = [${declaration('/v1/a', 'a')}, ${declaration('/v1/a2', 'a2')}]`,
      'a.js.map': '{}',
      'a.d.ts': 'export declare const routes: unknown[]',
    })
    const routes = await loadRouteModules(dir, '.js')
    expect(routes.map((r) => r.operationId)).toEqual(['a', 'a2', 'b'])
  })

  it('refuses a module without `routes` (a helper, or a file left by an earlier build)', async () => {
    const dir = moduleDir({
      'a.js': `export const routes = [${declaration('/v1/a', 'a')}]`,
      'common.js': 'export const helper = 1',
    })
    await expect(loadRouteModules(dir, '.js')).rejects.toThrow(
      /common\.js: a route module exports no `routes`/,
    )
  })
})

describe('declarations that contradict each other', () => {
  const route = (over: Partial<Route>): Route => ({
    ...defineRoute({
      method: 'GET',
      url: '/v1/x/:id',
      operationId: 'x',
      summary: 'x',
      role: 'viewer',
      params: z.object({ id: z.string() }),
      responses: { 200: null },
      handler: async () => null,
    }),
    ...over,
  })

  it.each<[string, Route[], RegExp]>([
    [
      'a route twice',
      [route({}), route({ operationId: 'y' })],
      /GET \/v1\/x\/:id is declared twice/,
    ],
    [
      'an operation id twice',
      [route({}), route({ method: 'DELETE' })],
      /operationId x is declared twice/,
    ],
    [
      'params without the URL parameter',
      [route({ params: z.object({ key: z.string() }) })],
      /params must declare exactly id/,
    ],
    [
      'a URL parameter without params',
      [route({ params: undefined })],
      /params must declare exactly id/,
    ],
    ['a public route under /v1', [route({ role: 'public' })], /must name the role it needs/],
  ])('refuses %s', (_, routes, message) => {
    expect(() => checkRoutes(routes)).toThrow(message)
  })

  it('refuses a /v1 route added without a declaration, and takes others', async () => {
    const app = Fastify()
    installRouteGuard(app, createAuthenticator({}))
    expect(() => app.get('/v1/undeclared', async () => ({}))).toThrow(
      /must be declared with defineRoute/,
    )
    app.get('/elsewhere', async () => ({ ok: true }))
    expect((await app.inject('/elsewhere')).json()).toEqual({ ok: true })
    await app.close()
  })
})

describe('the one hook', () => {
  it('answers 401, 403, then 400 for the path, the query and the body, before the handler', async () => {
    const keys = await apiKeys()
    const authenticate = createAuthenticator({
      keys: keys.keys,
      issuer: 'https://idp.example.com',
      audience: 'https://audtrail.example.com/api',
    })
    const seen: unknown[] = []
    const app = Fastify()
    installErrorHandler(app)
    installRouteGuard(app, authenticate)
    await registerRoutes(
      app,
      [
        defineRoute({
          method: 'PATCH',
          url: '/v1/things/:id',
          operationId: 'patchThing',
          summary: 'a thing',
          role: 'analyst',
          params: z.strictObject({ id: z.string().regex(/^\d+$/, 'not a thing id') }),
          query: z.strictObject({ limit: z.coerce.number().int().max(9).default(3) }),
          body: z.strictObject({ note: z.string() }),
          responses: { 200: z.object({ id: z.string(), limit: z.number(), note: z.string() }) },
          handler: async ({ caller, params, query, body }) => {
            seen.push(caller.subject)
            return { id: params.id, limit: query.limit, note: body.note }
          },
        }),
      ],
      { authenticate, metrics: new Metrics(), readiness: async () => ({}) },
    )
    const send = async (url: string, roles: string[] | null, payload: object) => {
      const token = roles && (await keys.token({ roles }))
      const res = await app.inject({
        method: 'PATCH',
        url,
        payload,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })
      return [res.statusCode, res.json().code ?? res.json()] as const
    }
    const bad = { note: 1 }
    expect(await send('/v1/things/x?limit=99', null, bad)).toEqual([401, 'ERR_AUTH_MISSING'])
    expect(await send('/v1/things/x?limit=99', ['viewer'], bad)).toEqual([403, 'ERR_FORBIDDEN'])
    const problems = async (url: string, payload: object) => {
      const token = await keys.token({ roles: ['admin'] })
      const res = await app.inject({
        method: 'PATCH',
        url,
        payload,
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.statusCode).toBe(400)
      return res.json().message as string
    }
    expect(await problems('/v1/things/x?limit=99', bad)).toBe('id: not a thing id')
    expect(await problems('/v1/things/1?limit=99', bad)).toMatch(/^limit: /)
    expect(await problems('/v1/things/1?limit=2&other=1', bad)).toMatch(
      /^\(query\): Unrecognized key: "other"/,
    )
    expect(await problems('/v1/things/1', bad)).toMatch(/^note: /)
    expect(seen).toEqual([])
    expect(await send('/v1/things/7', ['admin'], { note: 'n' })).toEqual([
      200,
      { id: '7', limit: 3, note: 'n' },
    ])
    expect(seen).toEqual(['svc-1'])
    await app.close()
  })
})
