/** Test helpers for the collector tests: valid events, log capture, a switchable HTTP ingest. */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import type { AuditEventInput } from '../../src/events/index.js'

/** A valid `token.presented` event; `n` goes into the path so order can be checked. */
export function presented(n: number, jti = `jti-${n % 3}`): AuditEventInput {
  return {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'token.presented',
    occurred_at: new Date().toISOString(),
    source: { kind: 'resource_server', id: 'rs-test' },
    token: { jti, aud: ['https://api-b.example'] },
    resource: 'https://api-b.example',
    presented_aud: ['https://api-b.example'],
    aud_validated: true,
    decision: 'accepted',
    reason: 'ok',
    http: { method: 'GET', path: `/items/${n}` },
  }
}

export function ids(events: readonly { event_id: string }[]): string[] {
  return events.map((e) => e.event_id)
}

/** A pino logger writing JSON lines into `lines` (level debug unless given). */
export function captureLogs(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      cb()
    },
  })
  return { logger: pino({ level }, stream), lines }
}

export interface Ingest {
  url: string
  /** events accepted, in arrival order */
  received: Record<string, unknown>[]
  requests: {
    status: number
    authorization: string | undefined
    contentType: string | undefined
    count: number
  }[]
  /** decides the response to each request (default: 200 and accept everything) */
  respond: (batch: Record<string, unknown>[]) => { status: number; body?: unknown }
  close(): Promise<void>
}

/** A loopback HTTP server standing in for `POST /v1/ingest`. */
export async function startIngest(): Promise<Ingest> {
  const ingest: Ingest = {
    url: '',
    received: [],
    requests: [],
    respond: () => ({ status: 200 }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const batch = JSON.parse(body) as Record<string, unknown>[]
    const { status, body: answer } = ingest.respond(batch)
    ingest.requests.push({
      status,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      count: batch.length,
    })
    if (status >= 200 && status < 300) {
      const rejected = new Set(
        ((answer as { rejected?: { index: number }[] } | undefined)?.rejected ?? []).map(
          (r) => r.index,
        ),
      )
      batch.forEach((e, i) => rejected.has(i) || ingest.received.push(e))
    }
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(answer === undefined ? '' : JSON.stringify(answer))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  ingest.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/ingest`
  return ingest
}

/** Polls `check` until it returns true; gives up (throws) after `maxMs` (a bound, not an assertion). */
export async function until(
  check: () => boolean,
  what = 'condition',
  maxMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + maxMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
