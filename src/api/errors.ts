/**
 * The API's error model: `{ statusCode, code, message }` with stable codes, never internals. Every
 * error takes this shape, Fastify's own and its router's included (an unknown route or method,
 * a body too large or of another type, bad JSON, a malformed URL, a path parameter too long), as
 * do those Node's HTTP parser meets before Fastify (clientErrorHandler).
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { z } from 'zod'
import { isAudtrailError } from '../errors.js'
import { holdsRawJwt, withoutRawJwtText } from '../events/raw-token.js'
import { LIMITS } from '../events/schema.js'
import { withoutRawJwtUrl } from '../logger.js'
import { responseJsonSchema } from './schemas/json-schema.js'

export const API_ERROR_CODES = [
  'ERR_AUTH_MISSING',
  'ERR_AUTH_INVALID',
  'ERR_FORBIDDEN',
  'ERR_BAD_REQUEST',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_HEADERS_TOO_LARGE',
  'ERR_REQUEST_TIMEOUT',
  'ERR_UNSUPPORTED_MEDIA_TYPE',
  'ERR_NOT_FOUND',
  'ERR_RATE_LIMITED',
  'ERR_UNAVAILABLE',
  'ERR_INTERNAL',
  'ERR_RAW_TOKEN',
  'ERR_METHOD_NOT_ALLOWED',
  'ERR_URI_TOO_LONG',
  'ERR_CONCURRENCY_LIMITED',
  'ERR_AUTH_RATE_LIMITED',
] as const
export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

/** The one HTTP status each code is answered with (docs/api.md lists the same table). */
export const API_ERROR_STATUS: Record<ApiErrorCode, number> = {
  ERR_BAD_REQUEST: 400,
  ERR_RAW_TOKEN: 400,
  ERR_AUTH_MISSING: 401,
  ERR_AUTH_INVALID: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_REQUEST_TIMEOUT: 408,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_URI_TOO_LONG: 414,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_RATE_LIMITED: 429,
  ERR_CONCURRENCY_LIMITED: 429,
  ERR_AUTH_RATE_LIMITED: 429,
  ERR_HEADERS_TOO_LARGE: 431,
  ERR_INTERNAL: 500,
  ERR_UNAVAILABLE: 503,
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/** Every error: the HTTP status, a stable code and a message that never carries internals. */
export const ErrorSchema = z.object({
  statusCode: z.number().int().min(400).max(599),
  code: z.enum(API_ERROR_CODES),
  message: z.string(),
})

/** The error model as Fastify's response schema. */
export const ErrorBody = responseJsonSchema(ErrorSchema, 'serializer')

/**
 * The longest path parameter the router takes: the contract's longest id (LIMITS.id UTF-16 code
 * units) percent-encoded at its worst, a code unit of a three-byte UTF-8 character (`%E2%82%AC`,
 * nine characters). Every id an event may carry fits, as it is or encoded.
 */
export const MAX_PARAM_LENGTH = LIMITS.id * 9

/** What a request with a raw JWT in its URL is told. */
const RAW_TOKEN_ADVICE = 'send the token fingerprint or its jti, never the token itself'

/** Fastify's and its router's errors, each as the API answers it (fixed messages: nothing echoed). */
const FASTIFY_ERRORS: Record<string, [ApiErrorCode, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['ERR_BAD_REQUEST', 'the body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['ERR_BAD_REQUEST', 'the body is empty; send a JSON object'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'ERR_BAD_REQUEST',
    'the body does not match its Content-Length',
  ],
  FST_ERR_CTP_BODY_TOO_LARGE: ['ERR_PAYLOAD_TOO_LARGE', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'ERR_UNSUPPORTED_MEDIA_TYPE',
    'use application/json (POST /v1/ingest also takes application/x-ndjson)',
  ],
  FST_ERR_BAD_URL: ['ERR_BAD_REQUEST', 'the URL is not valid (a malformed percent-escape)'],
  FST_ERR_MAX_PARAM_LENGTH: [
    'ERR_URI_TOO_LONG',
    `a path parameter is too long (ids are at most ${LIMITS.id} characters)`,
  ],
  FST_ERR_NOT_FOUND: ['ERR_NOT_FOUND', 'not found'],
  FST_ERR_HANDLER_TIMEOUT: ['ERR_UNAVAILABLE', 'the request took too long; retry later'],
}

/** The code of any other client error, by its status (else ERR_BAD_REQUEST, as a 400). */
const BY_STATUS: Record<number, ApiErrorCode> = {
  400: 'ERR_BAD_REQUEST',
  404: 'ERR_NOT_FOUND',
  405: 'ERR_METHOD_NOT_ALLOWED',
  408: 'ERR_REQUEST_TIMEOUT',
  413: 'ERR_PAYLOAD_TOO_LARGE',
  414: 'ERR_URI_TOO_LONG',
  415: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  431: 'ERR_HEADERS_TOO_LARGE',
}

/** An error the API answers as it is: ours, Fastify's, or any other with a 4xx status. */
function clientError(err: Error): ApiError | undefined {
  if (err instanceof ApiError) return err
  const fe = err as Partial<FastifyError>
  if (fe.validation)
    return new ApiError(400, 'ERR_BAD_REQUEST', withoutRawJwtText(err.message).slice(0, 500))
  const known = FASTIFY_ERRORS[fe.code ?? '']
  if (known) return new ApiError(API_ERROR_STATUS[known[0]], known[0], known[1])
  const status = fe.statusCode
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined
  const code = BY_STATUS[status] ?? 'ERR_BAD_REQUEST'
  // Fastify's own messages say what to fix (a QUERY without Content-Type...); others may not.
  const message = fe.code?.startsWith('FST_')
    ? withoutRawJwtText(err.message).slice(0, 200)
    : (STATUS_CODES[status] ?? 'bad request').toLowerCase()
  return new ApiError(API_ERROR_STATUS[code], code, message)
}

function send(reply: FastifyReply, err: ApiError): FastifyReply {
  reply.headers(err.headers)
  return reply
    .status(err.statusCode)
    .send({ statusCode: err.statusCode, code: err.code, message: err.message })
}

/**
 * Where a request holds a raw JWT, if it does: its URL (path or query, as sent or with its
 * percent-escapes decoded once more), or one of its path or query parameters as decoded.
 */
export function rawTokenIn(request: FastifyRequest): string | undefined {
  const where = (values: unknown, kind: string): string | undefined => {
    if (values === null || typeof values !== 'object') return undefined
    for (const [name, value] of Object.entries(values)) {
      if (holdsRawJwt(name)) return `a ${kind} name`
      for (const v of [value].flat())
        if (typeof v === 'string' && holdsRawJwt(v)) return `the ${kind} ${name}`
    }
    return undefined
  }
  return (
    where(request.params, 'path parameter') ??
    where(request.query, 'query parameter') ??
    (holdsRawJwt(request.url) ? 'the URL' : undefined)
  )
}

function rawTokenError(where: string): ApiError {
  return new ApiError(400, 'ERR_RAW_TOKEN', `${where} holds a raw JWT: ${RAW_TOKEN_ADVICE}`)
}

/**
 * Refuses, before anything else runs (authentication included), every request that holds a raw
 * JWT in its path or query, on every route and on none: a filter or path parameter takes a token
 * key (jti or fingerprint), never a token.
 */
export function installRawTokenGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const where = rawTokenIn(request)
    if (where) throw rawTokenError(where)
  })
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before a route is found (a malformed
 * percent-escape, a path parameter over maxParamLength), in the error model; a raw JWT in the URL
 * is an ERR_RAW_TOKEN first.
 */
export function frameworkErrors(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  void send(
    reply,
    holdsRawJwt(request.url)
      ? rawTokenError('the URL')
      : (clientError(err) ?? new ApiError(400, 'ERR_BAD_REQUEST', 'malformed request')),
  )
  // Fastify logs these requests coming in but not going out: the same line as any other.
  reply.log.info({ res: reply }, 'request completed')
}

/** A compiled route: its path as a regular expression and its methods. */
type RoutePattern = { path: RegExp; methods: Set<string> }

/** Route patterns (`/v1/findings/:id`) as regular expressions, by path. */
function compileRoutes(routes: readonly string[]): RoutePattern[] {
  const byPath = new Map<string, Set<string>>()
  for (const route of routes) {
    const [method, url] = route.split(' ', 2) as [string, string]
    const methods = byPath.get(url) ?? new Set<string>()
    methods.add(method)
    if (method === 'GET') methods.add('HEAD')
    byPath.set(url, methods)
  }
  return [...byPath].map(([url, methods]) => ({
    path: new RegExp(
      '^' +
        url
          .split('/')
          .map((s) =>
            s.startsWith(':')
              ? '[^/]+'
              : s === '*'
                ? '.*'
                : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('/') +
        '$',
    ),
    methods,
  }))
}

/**
 * One error handler for the whole app: known errors keep their status, the rest become 500/503.
 * `routes` ("METHOD /path" each, filled as routes are added) tells a path served under another
 * method (405 with Allow) from one not served at all (404).
 */
export function installErrorHandler(app: FastifyInstance, routes: readonly string[] = []): void {
  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) => {
    const known = clientError(err)
    if (known) return send(reply, known)
    if (isAudtrailError(err) && err.retriable) {
      request.log.warn({ code: err.code }, 'dependency unavailable')
      return send(
        reply,
        new ApiError(503, 'ERR_UNAVAILABLE', 'storage or transport unavailable; retry later'),
      )
    }
    request.log.error({ err }, 'unhandled error')
    return send(reply, new ApiError(500, 'ERR_INTERNAL', 'internal error'))
  })
  let compiled: { count: number; patterns: RoutePattern[] } = { count: -1, patterns: [] }
  app.setNotFoundHandler((request, reply) => {
    if (compiled.count !== routes.length)
      compiled = { count: routes.length, patterns: compileRoutes(routes) }
    const path = request.url.split('?')[0]!
    const allowed = new Set(
      compiled.patterns.filter((p) => p.path.test(path)).flatMap((p) => [...p.methods]),
    )
    const shown = withoutRawJwtUrl(path).slice(0, 200)
    if (allowed.size > 0 && !allowed.has(request.method))
      return send(
        reply,
        new ApiError(
          405,
          'ERR_METHOD_NOT_ALLOWED',
          `${request.method.slice(0, 20)} is not allowed on ${shown}`,
          { allow: [...allowed].sort().join(', ') },
        ),
      )
    return send(reply, new ApiError(404, 'ERR_NOT_FOUND', `no route ${request.method} ${shown}`))
  })
}

/**
 * Fastify's own log lines with raw JWTs cut out of the messages it builds from a request (an
 * error's message, the URL of a route not found); the logger's serializers clean the rest.
 */
export class ApiLogController extends LogController {
  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const message = withoutRawJwtText(String(error?.message ?? ''))
    if (reply.statusCode >= 500) reply.log.error({ req: request, res: reply, err: error }, message)
    else reply.log.info({ res: reply, err: error }, message)
  }

  override routeNotFound(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return
    request.log.info(`Route ${request.method}:${withoutRawJwtUrl(request.url)} not found`)
  }
}

const CLIENT_ERRORS: Record<string, [number, ApiErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'ERR_HEADERS_TOO_LARGE', 'request line and headers exceed 16 KiB'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'ERR_REQUEST_TIMEOUT', 'request not received in time'],
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (an URL or headers over 16 KiB, a
 * malformed request line, a timeout) answered in the error model too, not Fastify's own format.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [
    400,
    'ERR_BAD_REQUEST',
    'malformed HTTP request',
  ]
  const body = JSON.stringify({ statusCode: status, code, message })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
