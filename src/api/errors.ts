/** The API's error model: `{ statusCode, code, message }` with stable codes, never internals. */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance } from 'fastify'
import { z } from 'zod'
import { isAudtrailError } from '../errors.js'
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
] as const
export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

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

/** One error handler for the whole app: known errors keep their status, the rest become 500/503. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) => {
    if (err instanceof ApiError) {
      reply.headers(err.headers)
      return reply
        .status(err.statusCode)
        .send({ statusCode: err.statusCode, code: err.code, message: err.message })
    }
    const fe = err as FastifyError
    if (
      fe.validation ||
      fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    )
      return reply
        .status(400)
        .send({ statusCode: 400, code: 'ERR_BAD_REQUEST', message: fe.message })
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.status(413).send({
        statusCode: 413,
        code: 'ERR_PAYLOAD_TOO_LARGE',
        message: 'request body is too large',
      })
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.status(415).send({
        statusCode: 415,
        code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
        message: 'use application/json or application/x-ndjson',
      })
    // Fastify's own client errors (a QUERY without Content-Type, a bad header...): still 4xx.
    if (fe.code?.startsWith('FST_') && fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
      return reply.status(400).send({
        statusCode: 400,
        code: 'ERR_BAD_REQUEST',
        message: fe.message.slice(0, 200),
      })
    if (isAudtrailError(err) && err.retriable) {
      request.log.warn({ code: err.code }, 'dependency unavailable')
      return reply.status(503).send({
        statusCode: 503,
        code: 'ERR_UNAVAILABLE',
        message: 'storage or transport unavailable; retry later',
      })
    }
    request.log.error({ err }, 'unhandled error')
    return reply
      .status(500)
      .send({ statusCode: 500, code: 'ERR_INTERNAL', message: 'internal error' })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      statusCode: 404,
      code: 'ERR_NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  )
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
