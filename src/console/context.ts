/**
 * What a console page handler works with: the caller's session and the API, called in-process
 * (`app.inject`) with the caller's own credentials, so tenant and role rules are exactly the
 * API's (docs/design/console.md).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Caller, Role } from './caller.js'
import type { ConsoleSession } from './session.js'

export interface ConsoleContext {
  app: FastifyInstance
  request: FastifyRequest
  reply: FastifyReply
  session: ConsoleSession
  caller: Caller
  /** Signed in through OpenID Connect (false: the open loopback API). */
  signedIn: boolean
  /** The `tenant` parameter the open API takes (open mode only), from the console URL. */
  tenant?: string
}

export interface ApiAnswer {
  status: number
  // The API's JSON, as answered; pages read it defensively (fields may be absent).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any
  body: string
  headers: Record<string, string | string[] | number | undefined>
}

/** One API request as the caller: their bearer token, their address (for the API's limits). */
export async function callApi(
  ctx: ConsoleContext,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
): Promise<ApiAnswer> {
  let target = url
  if (ctx.tenant && !ctx.signedIn && method === 'GET' && !/[?&]tenant=/.test(url))
    target += `${url.includes('?') ? '&' : '?'}tenant=${encodeURIComponent(ctx.tenant)}`
  const headers: Record<string, string> = {}
  if (ctx.session.accessToken) headers.authorization = `Bearer ${ctx.session.accessToken}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await ctx.app.inject({
    method,
    url: target,
    headers,
    remoteAddress: ctx.request.ip,
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  })
  let json: unknown
  try {
    json = res.body ? JSON.parse(res.body) : undefined
  } catch {
    json = undefined
  }
  return { status: res.statusCode, json, body: res.body, headers: res.headers }
}

/** viewer < analyst < admin, as the API decides (auth.ts requireRole). */
export function holds(caller: Caller, role: Role): boolean {
  const implied: Record<Role, Role[]> = {
    viewer: ['viewer', 'analyst', 'admin'],
    analyst: ['analyst', 'admin'],
    admin: ['admin'],
    ingest: ['ingest'],
  }
  return implied[role].some((r) => caller.roles.includes(r))
}

/** An API answer that is not a success, for the page to show: its status and message. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** The JSON of a successful answer, or an ApiProblem with the API's own message. */
export function expectOk(answer: ApiAnswer): ApiAnswer['json'] {
  if (answer.status >= 200 && answer.status < 300) return answer.json
  const message =
    typeof answer.json?.message === 'string'
      ? answer.json.message
      : `the API answered ${answer.status}`
  throw new ApiProblem(answer.status, message)
}
