/** Step 1: bytes to a JSON value, refusing oversized, non-UTF-8 and malformed input. */

/** Largest payload the pipeline will look at; every contract event is far smaller. */
export const MAX_PAYLOAD_BYTES = 1_048_576

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

export function decodePayload(payload: Uint8Array | string | null | undefined): DecodeResult {
  if (payload === null || payload === undefined) return { ok: false, reason: 'empty payload' }
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  if (size === 0) return { ok: false, reason: 'empty payload' }
  if (size > MAX_PAYLOAD_BYTES)
    return { ok: false, reason: `payload of ${size} bytes exceeds ${MAX_PAYLOAD_BYTES} bytes` }
  let text: string
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload)
  } catch {
    return { ok: false, reason: 'payload is not valid UTF-8' }
  }
  try {
    const value: unknown = JSON.parse(text)
    return { ok: true, value, wellFormed: typeof payload !== 'string' && !text.includes('\\u') }
  } catch {
    // V8's message quotes part of the payload; the payload is kept separately, so say only this.
    return { ok: false, reason: 'payload is not valid JSON' }
  }
}
