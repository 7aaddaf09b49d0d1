/**
 * `audtrail replay FILE`: send an NDJSON file to the configured transport, with progress: to Kafka
 * when KAFKA_BROKERS is set (lines unchanged; the consumer validates), else to HTTP ingest, whose
 * per-event answers are reported with each refused line's number and reasons.
 *
 * The file is read as bytes and cut at line feeds as ingest cuts NDJSON (src/pipeline/body.ts):
 * a line that is not UTF-8 is sent as it is, and refused by the pipeline like any other, never
 * read with U+FFFD in place of its bytes.
 */
import { createReadStream, statSync, writeFileSync, appendFileSync } from 'node:fs'
import type { Config } from '../config.js'
import { isBlankLine } from '../pipeline/body.js'
import { MAX_PAYLOAD_BYTES, tooLarge } from '../pipeline/decode.js'
import { createKafka } from '../transport/kafka.js'
import { logger } from './runtime.js'

/** The exit codes of `audtrail replay` (documented in its --help and docs/deployment.md). */
export const REPLAY_EXIT = {
  /** Every line sent, and stored or already stored (with Kafka: produced). */
  ok: 0,
  /**
   * Stopped before the end: the file could not be read, or the endpoint or Kafka could not be
   * reached or refused a request.
   */
  failed: 1,
  /** Wrong arguments or configuration. */
  usage: 2,
  /** Every line sent, and some were rejected (each named with its line number and reasons). */
  rejected: 3,
} as const

export const REPLAY_HELP = [
  'Each rejected line is printed as FILE:LINE: rejected: REASONS (to stderr), or with',
  '--rejects OUT written to OUT as one JSON object a line: {"line","reasons","event_id"?}.',
  'Lines over 1 MiB, which the pipeline refuses, are not sent and are reported the same way.',
  'With KAFKA_BROKERS set, lines are produced to the topic and the consumer validates them:',
  'its refusals go to the DLQ topic and rejected_events, not to this report.',
  '',
  'Exit codes:',
  '  0  every line sent, and stored or already stored (with Kafka: produced)',
  '  1  stopped before the end: the file could not be read, or the endpoint or Kafka could',
  '     not be reached or refused a request (the message names it, the cause and the first',
  '     line not sent)',
  '  2  wrong arguments or configuration',
  '  3  every line sent, and some were rejected',
].join('\n')

const MAX_LINES = 1000
/** Bytes per HTTP request (the server's default body limit is 10 MiB). */
const MAX_HTTP_BYTES = 4 * 1024 * 1024
/** Bytes per Kafka request (the broker's default message batch limit is 1 MB). */
const MAX_KAFKA_BYTES = 512 * 1024
/** A request with no answer in this long is given up (the server's own limit is 5 minutes). */
const REQUEST_TIMEOUT_MS = 300_000

export interface Rejection {
  line: number
  reasons: string[]
  event_id?: string
}

/** A line to send: its bytes and 1-based line number in the file. */
interface Line {
  number: number
  bytes: Buffer
}

/** What a send told: the lines refused (by number) and how many were already stored. */
interface Sent {
  rejections: Rejection[]
  duplicates: number
}

type Send = (lines: Line[]) => Promise<Sent>

/** Why the replay stopped: said as it is, with the exit code `failed`. */
class ReplayStop extends Error {
  /** `send`: a batch went unanswered (where to resume is said); `read`: the file failed. */
  constructor(
    message: string,
    readonly during: 'send' | 'read' = 'send',
  ) {
    super(message)
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/** Control characters of a server's text, escaped: a reason cannot move the terminal's cursor. */
const printable = (text: string) =>
  text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** What went wrong under a failed fetch: undici's `fetch failed` names it only in `cause`. */
export function describeCause(err: unknown): string {
  let cause: unknown = err
  while (cause instanceof Error && cause.message === 'fetch failed' && cause.cause !== undefined)
    cause = cause.cause
  const one = (e: unknown): string => {
    if (!(e instanceof Error)) return String(e)
    const code = (e as { code?: unknown }).code
    if (e.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
    if (typeof code === 'string' && !e.message.includes(code))
      return e.message ? `${code}: ${e.message}` : code
    return e.message || e.name
  }
  if (cause instanceof AggregateError && cause.errors.length > 0)
    return [...new Set(cause.errors.map(one))].join('; ')
  return one(cause)
}

function keyOf(line: Buffer): string | null {
  try {
    const v = JSON.parse(line.toString()) as {
      token?: { jti?: unknown; fingerprint?: unknown }
      event_id?: unknown
    }
    const key = v.token?.jti ?? v.token?.fingerprint ?? v.event_id
    return typeof key === 'string' ? key : null
  } catch {
    return null
  }
}

/** The ingest answer's refusals, each named by the line it was for. */
function rejectionsOf(body: unknown, lines: Line[]): Sent {
  const results = (body as { results?: unknown } | null)?.results
  if (!Array.isArray(results)) throw new ReplayStop('the ingest endpoint answered without results')
  const rejections: Rejection[] = []
  let duplicates = 0
  results.forEach((r: unknown, i) => {
    const result = r as { index?: unknown; status?: unknown; reasons?: unknown; event_id?: unknown }
    if (result?.status === 'duplicate') duplicates += 1
    if (result?.status !== 'rejected') return
    // The index is the line within the body, which holds no blank lines: the batch position.
    const at = typeof result.index === 'number' ? result.index : i
    const reasons = Array.isArray(result.reasons)
      ? result.reasons.map((x) => printable(String(x)))
      : ['rejected by the ingest endpoint']
    rejections.push({
      line: lines[at]?.number ?? 0,
      reasons,
      ...(typeof result.event_id === 'string' ? { event_id: printable(result.event_id) } : {}),
    })
  })
  return { rejections, duplicates }
}

/** The error an ingest endpoint answered: `HTTP 401 (ERR_AUTH_MISSING: ...)`. */
async function answered(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  try {
    const { code, message } = JSON.parse(text) as { code?: unknown; message?: unknown }
    if (typeof code === 'string')
      return `HTTP ${response.status} (${printable(code)}: ${printable(String(message ?? ''))})`
  } catch {
    // not the API's error body
  }
  return `HTTP ${response.status}`
}

function httpSend(config: Config, url: string): Send {
  return async (lines) => {
    const body = Buffer.concat(
      lines.flatMap((l, i) => (i ? [Buffer.from('\n'), l.bytes] : [l.bytes])),
    )
    // 429 (rate limit) and 503 (storage or Kafka briefly down) are waited out, not fatal.
    for (let attempt = 1; ; attempt++) {
      let response: Response
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-ndjson',
            ...(config.ingestToken ? { authorization: `Bearer ${config.ingestToken}` } : {}),
          },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        })
      } catch (err) {
        throw new ReplayStop(`cannot reach the ingest endpoint ${url}: ${describeCause(err)}`)
      }
      if (response.ok) {
        let parsed: unknown
        try {
          parsed = await response.json()
        } catch {
          throw new ReplayStop(`the ingest endpoint ${url} answered something other than JSON`)
        }
        return rejectionsOf(parsed, lines)
      }
      if ((response.status !== 429 && response.status !== 503) || attempt >= 30)
        throw new ReplayStop(`the ingest endpoint ${url} answered ${await answered(response)}`)
      await response.body?.cancel().catch(() => {})
      const retryAfter = Number(response.headers.get('retry-after') ?? 1)
      await new Promise((r) => setTimeout(r, Math.min(30, Math.max(1, retryAfter || 1)) * 1000))
    }
  }
}

/** A line of the file: its size, and the file offset just past it. */
type FileLine = Line & { size: number; end: number }

/**
 * The file's lines, cut at line feeds (a carriage return before one dropped), blank lines
 * skipped, each with its 1-based number. A line over `max` bytes is not held: it comes with its
 * size and no bytes.
 */
async function* linesOf(file: string, max: number): AsyncGenerator<FileLine> {
  let parts: Buffer[] = []
  let size = 0
  let number = 1
  let offset = 0
  const end = function* (): Generator<FileLine> {
    let bytes = size > max ? Buffer.alloc(0) : Buffer.concat(parts)
    let length = size
    if (size <= max && bytes[bytes.length - 1] === 0x0d) {
      bytes = bytes.subarray(0, -1)
      length -= 1
    }
    if (size > max || !isBlankLine(bytes)) yield { number, bytes, size: length, end: offset }
    parts = []
    size = 0
    number += 1
  }
  const chunks = async function* () {
    try {
      yield* createReadStream(file) as AsyncIterable<Buffer>
    } catch (err) {
      throw new ReplayStop(`cannot read ${file}: ${describeCause(err)}`, 'read')
    }
  }
  for await (const chunk of chunks()) {
    let from = 0
    for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, lf)
      size += piece.length
      offset += piece.length + 1
      if (size <= max) parts.push(piece)
      yield* end()
      from = lf + 1
    }
    const rest = chunk.subarray(from)
    size += rest.length
    offset += rest.length
    if (size <= max) parts.push(rest)
    else parts = []
  }
  if (size > 0) yield* end()
}

export interface ReplayOptions {
  url?: string
  /** Write the rejections here (one JSON object a line) instead of printing each. */
  rejects?: string
  progress: (line: string, final: boolean) => void
  /** A line of the report: a rejection, or why the replay stopped. */
  report: (line: string) => void
}

export async function runReplay(
  config: Config,
  file: string,
  options: ReplayOptions,
): Promise<number> {
  const { report } = options
  // Wrong arguments first (exit 2), then the file (exit 1).
  let url = ''
  if (!config.kafka) {
    url = options.url ?? `http://${config.host}:${config.port}/v1/ingest`
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      parsed = undefined
    }
    if (parsed === undefined || !/^https?:$/.test(parsed.protocol)) {
      report(`replay: --url must be an http(s) URL (got ${printable(url)})`)
      return REPLAY_EXIT.usage
    }
  }
  let total: number
  try {
    total = statSync(file).size
  } catch (err) {
    report(`replay: cannot read ${file}: ${describeCause(err)}`)
    return REPLAY_EXIT.failed
  }
  if (options.rejects !== undefined) {
    try {
      writeFileSync(options.rejects, '')
    } catch (err) {
      report(`replay: cannot write ${options.rejects}: ${describeCause(err)}`)
      return REPLAY_EXIT.usage
    }
  }
  let send: Send
  let maxBytes = MAX_HTTP_BYTES
  let close = async () => {}
  let target: string
  if (config.kafka) {
    const brokers = config.kafka.brokers
    const topic = config.kafka.topic
    target = `Kafka topic ${topic}`
    const kafka = createKafka({
      brokers,
      clientId: 'audtrail-replay',
      logger: logger(config, 'audtrail-replay'),
    })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    try {
      await producer.connect()
    } catch (err) {
      report(`replay: cannot reach Kafka at ${brokers.join(',')}: ${describeCause(err)}`)
      return REPLAY_EXIT.failed
    }
    close = () => producer.disconnect()
    maxBytes = MAX_KAFKA_BYTES
    send = async (lines) => {
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: lines.map((l) => ({ key: keyOf(l.bytes), value: l.bytes })),
        })
      } catch (err) {
        throw new ReplayStop(
          `cannot produce to ${topic} at ${brokers.join(',')}: ${describeCause(err)}`,
        )
      }
      return { rejections: [], duplicates: 0 }
    }
  } else {
    target = url
    send = httpSend(config, target)
  }

  const started = Date.now()
  let lines = 0
  let rejected = 0
  let duplicates = 0
  let bytes = 0
  let lastReport = 0
  const progress = (final: boolean) => {
    const seconds = (Date.now() - started) / 1000
    const pct = total === 0 ? 100 : Math.min(100, (100 * bytes) / total)
    options.progress(
      `replay: ${lines} events (${pct.toFixed(1)}%), ${Math.round(lines / Math.max(seconds, 0.001))}/s` +
        (rejected > 0 ? `, ${rejected} rejected` : '') +
        (duplicates > 0 ? `, ${duplicates} already stored` : ''),
      final,
    )
  }
  const refused = (r: Rejection) => {
    rejected += 1
    if (options.rejects !== undefined) appendFileSync(options.rejects, `${JSON.stringify(r)}\n`)
    else report(`${file}:${r.line}: rejected: ${r.reasons.join('; ')}`)
  }
  /** The first line of the batch being sent: where a stopped replay would resume. */
  let sending = 0
  try {
    let batch: FileLine[] = []
    let batchBytes = 0
    const flush = async () => {
      if (batch.length === 0) return
      sending = batch[0]!.number
      const sent = await send(batch)
      for (const r of sent.rejections) refused(r)
      duplicates += sent.duplicates
      lines += batch.length
      bytes = batch[batch.length - 1]!.end
      batch = []
      batchBytes = 0
      if (Date.now() - lastReport > 250) {
        lastReport = Date.now()
        progress(false)
      }
    }
    for await (const line of linesOf(file, MAX_PAYLOAD_BYTES)) {
      if (line.size > MAX_PAYLOAD_BYTES) {
        // Refused by the pipeline with this reason (and whole by a Kafka broker): not sent.
        await flush()
        lines += 1
        bytes = line.end
        refused({ line: line.number, reasons: [`${tooLarge(line.size)} (not sent)`] })
        continue
      }
      if (batch.length >= MAX_LINES || batchBytes + line.bytes.length + 1 > maxBytes) await flush()
      batch.push(line)
      batchBytes += line.bytes.length + 1
    }
    await flush()
    bytes = total
    progress(true)
    if (rejected > 0)
      report(
        `replay: ${rejected} of ${lines} lines rejected` +
          (options.rejects !== undefined ? ` (written to ${options.rejects})` : ''),
      )
    if (config.kafka)
      report(
        `replay: produced to ${target}; the consumer validates the events (refusals go to the DLQ topic and rejected_events)`,
      )
    return rejected > 0 ? REPLAY_EXIT.rejected : REPLAY_EXIT.ok
  } catch (err) {
    if (!(err instanceof ReplayStop)) throw err
    if (lines > 0) progress(true)
    report(`replay: ${err.message}`)
    if (err.during === 'send')
      report(
        `replay: stopped at line ${sending}: no line from there on was answered (replay from ` +
          'there: events already stored are answered as duplicates)',
      )
    else if (lines > 0) report(`replay: ${lines} lines were sent and answered before`)
    if (rejected > 0)
      report(
        `replay: ${rejected} of the lines answered were rejected` +
          (options.rejects !== undefined ? ` (written to ${options.rejects})` : ''),
      )
    return REPLAY_EXIT.failed
  } finally {
    await close()
  }
}
