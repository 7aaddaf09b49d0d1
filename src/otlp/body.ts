/**
 * The bytes of an OTLP/HTTP request: gzip undone under the route's body limit (a body that
 * inflates past it is refused before it is held whole: a zip bomb costs at most the limit), the
 * media type told apart, the body decoded into records. Every failure is an error with the
 * status the OTLP specification gives it (OtlpRequestError) (400 not decodable, 413 too large, 415 a type or encoding
 * we do not take); none is a 5xx.
 */
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { decodeJsonValue } from './json.js'
import {
  OTLP_LIMITS,
  OtlpDecodeError,
  OtlpRequestError,
  type Decoded,
  type Signal,
} from './model.js'
import { decodeProtobuf } from './wire.js'

const inflate = promisify(gunzip)

export type Encoding = 'protobuf' | 'json'

export const MEDIA_TYPES: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
}

/** The encoding of a Content-Type, or a 415. */
export function encodingOf(contentType: string | undefined): Encoding {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === MEDIA_TYPES.protobuf) return 'protobuf'
  if (type === MEDIA_TYPES.json) return 'json'
  throw new OtlpRequestError(415, 'use application/x-protobuf or application/json (OTLP/HTTP)')
}

/** The body with its Content-Encoding undone (identity or gzip), at most `limit` bytes. */
export async function contentOf(
  body: Buffer,
  contentEncoding: string | undefined,
  limit: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase()
  if (encoding === 'identity' || encoding === '') return body
  if (encoding !== 'gzip' && encoding !== 'x-gzip')
    throw new OtlpRequestError(415, 'use Content-Encoding gzip or none')
  try {
    return await inflate(body, { maxOutputLength: limit })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new OtlpRequestError(
        413,
        `the body inflates past ${limit} bytes (the limit applies after gzip is undone)`,
      )
    throw new OtlpRequestError(400, 'the body is not valid gzip')
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The records of the body, or a 400 saying why it cannot be read; a 413 past the record limit. */
export function decodeBody(bytes: Buffer, encoding: Encoding, signal: Signal): Decoded {
  let decoded: Decoded
  try {
    if (encoding === 'protobuf') decoded = decodeProtobuf(bytes, signal)
    else {
      let value: unknown
      try {
        value = JSON.parse(utf8.decode(bytes))
      } catch {
        throw new OtlpDecodeError('the body is not UTF-8 JSON')
      }
      decoded = decodeJsonValue(value, signal)
    }
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err
    const what = encoding === 'protobuf' ? 'protobuf' : 'JSON'
    throw new OtlpRequestError(
      400,
      `not an OTLP ${signal === 'log' ? 'logs' : 'trace'} request in ${what}: ${err.message}`.slice(
        0,
        500,
      ),
    )
  }
  if (decoded.count > OTLP_LIMITS.records)
    throw new OtlpRequestError(
      413,
      `at most ${OTLP_LIMITS.records} ${signal === 'log' ? 'log records' : 'spans'} per request (got ${decoded.count})`,
    )
  return decoded
}
