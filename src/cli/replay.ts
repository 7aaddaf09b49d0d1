/**
 * `audtrail replay FILE`: send an NDJSON file to the configured transport, with progress: to Kafka
 * when KAFKA_BROKERS is set (lines unchanged; the consumer validates), else to HTTP ingest.
 */
import { createReadStream, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Config } from '../config.js'
import { createKafka } from '../transport/kafka.js'
import { logger } from './runtime.js'

const BATCH = 1000

type Send = (lines: string[]) => Promise<{ rejected: number }>

function keyOf(line: string): string | null {
  try {
    const v = JSON.parse(line) as {
      token?: { jti?: unknown; fingerprint?: unknown }
      event_id?: unknown
    }
    const key = v.token?.jti ?? v.token?.fingerprint ?? v.event_id
    return typeof key === 'string' ? key : null
  } catch {
    return null
  }
}

export async function runReplay(
  config: Config,
  file: string,
  options: { url?: string; progress: (line: string, final: boolean) => void },
): Promise<number> {
  const total = statSync(file).size
  let send: Send
  let close = async () => {}
  if (config.kafka) {
    const kafka = createKafka({
      brokers: config.kafka.brokers,
      clientId: 'audtrail-replay',
      logger: logger(config, 'audtrail-replay'),
    })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    close = () => producer.disconnect()
    const topic = config.kafka.topic
    send = async (lines) => {
      await producer.send({
        topic,
        acks: -1,
        messages: lines.map((value) => ({ key: keyOf(value), value })),
      })
      return { rejected: 0 }
    }
  } else {
    const url = options.url ?? `http://${config.host}:${config.port}/v1/ingest`
    send = async (lines) => {
      // 429 (rate limit) and 503 (storage or Kafka briefly down) are waited out, not fatal.
      for (let attempt = 1; ; attempt++) {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-ndjson',
            ...(config.ingestToken ? { authorization: `Bearer ${config.ingestToken}` } : {}),
          },
          body: lines.join('\n'),
        })
        if (response.ok)
          return { rejected: ((await response.json()) as { rejected: number }).rejected }
        await response.body?.cancel().catch(() => {})
        if ((response.status !== 429 && response.status !== 503) || attempt >= 30)
          throw new Error(`ingest answered HTTP ${response.status}`)
        const retryAfter = Number(response.headers.get('retry-after') ?? 1)
        await new Promise((r) => setTimeout(r, Math.min(30, Math.max(1, retryAfter)) * 1000))
      }
    }
  }

  const started = Date.now()
  let lines = 0
  let rejected = 0
  let bytes = 0
  let lastReport = 0
  const report = (final: boolean) => {
    const seconds = (Date.now() - started) / 1000
    const pct = total === 0 ? 100 : Math.min(100, (100 * bytes) / total)
    options.progress(
      `replay: ${lines} events (${pct.toFixed(1)}%), ${Math.round(lines / Math.max(seconds, 0.001))}/s` +
        (rejected > 0 ? `, ${rejected} rejected` : ''),
      final,
    )
  }
  try {
    let batch: string[] = []
    const flush = async () => {
      if (batch.length === 0) return
      rejected += (await send(batch)).rejected
      lines += batch.length
      batch = []
      if (Date.now() - lastReport > 250) {
        lastReport = Date.now()
        report(false)
      }
    }
    for await (const line of createInterface({
      input: createReadStream(file),
      crlfDelay: Infinity,
    })) {
      bytes += Buffer.byteLength(line) + 1
      if (line.trim() === '') continue
      batch.push(line)
      if (batch.length >= BATCH) await flush()
    }
    await flush()
    report(true)
    return 0
  } finally {
    await close()
  }
}
