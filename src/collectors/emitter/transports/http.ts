/** HTTP transport: POSTs batches as a JSON array to the audtrail ingest endpoint (`/v1/ingest`). */
import { AudtrailError } from '../../../errors.js'
import { sendBisecting } from './split.js'
import type { AttemptResult, OutboundEvent, Rejection, Transport } from './types.js'

export interface HttpTransportConfig {
  url: string
  /** bearer token of a caller with the `ingest` role; sent only in the Authorization header */
  token?: string
  timeoutMs?: number
}

// Statuses that mean "this content is refused" (bisect it), as opposed to "try again later".
const REFUSED = new Set([400, 413, 422])

/** What a 2xx or refusing answer says of the batch's events (undefined: nothing per event). */
export interface PostAnswer {
  rejected: Rejection[]
  /** false when the peer refused more events than it named: the batch is bisected to find them */
  complete: boolean
}

/** How one HTTP transport writes a batch and reads the answer; the rest is `createPostTransport`. */
export interface PostSpec {
  name: string
  url: string
  token?: string
  timeoutMs?: number
  /** headers of every request besides `authorization` (the media type, an encoding) */
  headers: Record<string, string>
  body(batch: readonly OutboundEvent[]): Promise<string | Uint8Array>
  answer(text: string, size: number): PostAnswer | undefined
}

/**
 * The ingest response is read for per-event results: `{ rejected: [{ index, reasons | reason }] }`
 * or `{ results: [{ index?, status: 'accepted' | 'rejected', reasons? }] }` (index into the posted
 * array). 2xx without such a body means every event was accepted. 400/413/422 without per-event
 * results refuse the batch as a whole (it is bisected down to the offending events, which are
 * rejected permanently). Every other status (401/403 from a misconfigured token, 404, 429, 5xx)
 * and network errors are retriable: a configuration mistake must not destroy audit events.
 * Redirects are not followed, so the bearer token never leaves the configured origin.
 */
export function createHttpTransport(config: HttpTransportConfig): Transport {
  return createPostTransport({
    ...config,
    name: 'http',
    headers: { 'content-type': 'application/json' },
    body: async (batch) => `[${batch.map((e) => e.json).join(',')}]`,
    answer(text, size) {
      const rejected = perEventRejections(text, size)
      return rejected === undefined ? undefined : { rejected, complete: true }
    },
  })
}

/** A transport that POSTs each batch as `spec` writes it, with the HTTP transport's semantics. */
export function createPostTransport(spec: PostSpec): Transport {
  const url = new URL(spec.url)
  const where = `${url.origin}${url.pathname}`
  const headers: Record<string, string> = { ...spec.headers }
  if (spec.token !== undefined) headers.authorization = `Bearer ${spec.token}`
  const timeoutMs = spec.timeoutMs ?? 10_000

  async function attempt(batch: readonly OutboundEvent[]): Promise<AttemptResult> {
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: await spec.body(batch),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      throw unavailable(`POST ${where} failed: ${describe(err)}`, err)
    }
    const text = await res.text().catch(() => '')
    const answer = spec.answer(text, batch.length)
    if (res.status >= 200 && res.status < 300) {
      if (answer?.complete === false)
        return { status: 'refused', reason: answer.rejected[0]?.reason ?? 'rejected by the peer' }
      return { status: 'sent', rejected: answer?.rejected ?? [] }
    }
    if (REFUSED.has(res.status)) {
      if (answer !== undefined && answer.complete && answer.rejected.length > 0)
        return { status: 'sent', rejected: answer.rejected }
      return { status: 'refused', reason: `HTTP ${res.status}` }
    }
    throw unavailable(`POST ${where} answered HTTP ${res.status}`)
  }

  return {
    name: spec.name,
    async send(batch) {
      return { rejected: await sendBisecting(batch, attempt) }
    },
    async close() {},
  }
}

function perEventRejections(text: string, size: number): Rejection[] | undefined {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  if (body === null || typeof body !== 'object') return undefined
  const { rejected, results } = body as { rejected?: unknown; results?: unknown }
  const out = new Map<number, string>()
  if (Array.isArray(rejected)) {
    for (const r of rejected) addRejection(out, r, undefined, size)
  } else if (Array.isArray(results)) {
    results.forEach((r, i) => {
      if ((r as { status?: unknown } | null)?.status === 'rejected') addRejection(out, r, i, size)
    })
  } else {
    return undefined
  }
  return [...out].map(([index, reason]) => ({ index, reason }))
}

function addRejection(out: Map<number, string>, r: unknown, at: number | undefined, size: number) {
  if (r === null || typeof r !== 'object') return
  const { index, reason, reasons } = r as { index?: unknown; reason?: unknown; reasons?: unknown }
  const i = typeof index === 'number' ? index : at
  if (i === undefined || !Number.isInteger(i) || i < 0 || i >= size) return
  const text = Array.isArray(reasons)
    ? reasons.join('; ')
    : typeof reason === 'string'
      ? reason
      : ''
  out.set(i, text.slice(0, 500) || 'rejected by the ingest endpoint')
}

function unavailable(message: string, cause?: unknown): AudtrailError {
  return new AudtrailError('ERR_TRANSPORT_UNAVAILABLE', message, { cause, retriable: true })
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : ''
  return `${err.name === 'TimeoutError' ? 'timed out' : err.message}${cause}`
}
