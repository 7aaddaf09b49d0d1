/**
 * Step 1: bytes to a JSON value, refusing oversized, non-UTF-8 and malformed input. The one
 * decoding rule of every path (Kafka messages, HTTP ingest bodies, `audtrail replay`): bytes that
 * are not valid UTF-8 are refused, never read with U+FFFD in place of what they held.
 */

/** Largest payload the pipeline will look at; every contract event is far smaller. */
export const MAX_PAYLOAD_BYTES = 1_048_576

/** The reasons decodePayload gives (HTTP ingest tells a body that is not JSON by the last one). */
export const EMPTY_PAYLOAD = 'empty payload'
export const NOT_UTF8 = 'payload is not valid UTF-8'
export const NOT_JSON = 'payload is not valid JSON'
export const tooLarge = (size: number) =>
  `payload of ${size} bytes exceeds ${MAX_PAYLOAD_BYTES} bytes`

export type DecodeResult =
  | {
      ok: true
      value: unknown
      /**
       * Every string of the value is well-formed Unicode: it was decoded from valid UTF-8 (which
       * cannot encode a lone surrogate) and holds no `\u` escape (the only other way JSON can
       * spell one). Lets parseEvent skip its scan of every string and key.
       */
      wellFormed: boolean
    }
  | { ok: false; reason: string }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** UTF-8 bytes as text (a leading byte order mark dropped), or undefined when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

export function decodePayload(payload: Uint8Array | string | null | undefined): DecodeResult {
  if (payload === null || payload === undefined) return { ok: false, reason: EMPTY_PAYLOAD }
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  if (size === 0) return { ok: false, reason: EMPTY_PAYLOAD }
  if (size > MAX_PAYLOAD_BYTES) return { ok: false, reason: tooLarge(size) }
  const text = typeof payload === 'string' ? payload : decodeUtf8(payload)
  if (text === undefined) return { ok: false, reason: NOT_UTF8 }
  try {
    const value: unknown = JSON.parse(text)
    return { ok: true, value, wellFormed: typeof payload !== 'string' && !text.includes('\\u') }
  } catch {
    // V8's message quotes part of the payload; the payload is kept separately, so say only this.
    return { ok: false, reason: NOT_JSON }
  }
}
