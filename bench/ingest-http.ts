/**
 * The HTTP arms of `bench:ingest` (and all of `bench:otlp`): the same events through
 * `POST /v1/ingest` as NDJSON and through `POST /v1/otlp/logs` as OTLP protobuf, in requests of
 * `batch` events, into memory storage: the HTTP intake's own work (JWT, decoding, mapping,
 * screening, validation, enrichment) without a database, each arm in a fresh API.
 *
 * The events are benign contract events (events.ts), validated once; the NDJSON arm sends their
 * JSON, the OTLP arm the log records the emitter's `otlp` transport writes of them (every field
 * in an `audtrail.*` attribute) serialized in protobuf by the OpenTelemetry SDK. Both arms must
 * store the same event ids. A warm-up of both arms precedes the timed runs, and the runs
 * alternate which arm goes first; the figures are medians over `reps`.
 */
import type { AuditEvent } from '../src/events/schema.js'
import type { apiKeys } from '../test/helpers/api-tokens.js'
import { benchEvent } from './events.js'

/**
 * What the arms need, loaded when they run: `bench:ingest` imports this module in each of its
 * Kafka arms' processes too, whose peak RSS must not hold the API and the OpenTelemetry SDK.
 */
const load = async () => ({
  ...(await import('../src/events/parse.js')),
  ...(await import('../src/otlp/wire.js')),
  ...(await import('../src/pipeline/memory-sink.js')),
  ...(await import('../test/helpers/api-app.js')),
  ...(await import('../test/helpers/api-tokens.js')),
  ...(await import('../test/helpers/otlp-protobuf.js')),
})
type Loaded = Awaited<ReturnType<typeof load>>

export interface HttpArmsOptions {
  events: number
  batch: number
  reps: number
}

/** The keys the HTTP arms add to a bench's JSON line. */
export interface HttpFigures {
  http_events: number
  http_batch: number
  http_reps: number
  ndjson_events_per_s: number
  otlp_events_per_s: number
  /** OTLP protobuf events/s over NDJSON events/s */
  otlp_ratio: number
  ndjson_cpu_us_per_event: number
  otlp_cpu_us_per_event: number
}

type ArmName = 'ndjson' | 'otlp'
interface Request {
  ndjson: string
  otlp: Buffer
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function requests(m: Loaded, events: number, batch: number): Promise<Request[]> {
  const { parseEvent, eventsAsProtobuf } = m
  const out: Request[] = []
  for (let i = 0; i < events; i += batch) {
    const slice: AuditEvent[] = Array.from({ length: Math.min(batch, events - i) }, () => {
      const parsed = parseEvent(benchEvent())
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return parsed.event
    })
    out.push({
      ndjson: slice.map((e) => JSON.stringify(e)).join('\n'),
      otlp: Buffer.from(await eventsAsProtobuf(slice)),
    })
  }
  return out
}

/** One arm over `list` in a fresh API: its rate, CPU per event and the stored event ids. */
async function run(
  m: Loaded,
  arm: ArmName,
  list: readonly Request[],
  keys: Awaited<ReturnType<typeof apiKeys>>,
  token: string,
) {
  const sink = m.createMemorySink()
  const app = await m.testApp(keys, m.memoryIngest(sink))
  const cpu = process.cpuUsage()
  const start = performance.now()
  for (const r of list) {
    const res = await app.inject({
      method: 'POST',
      url: arm === 'ndjson' ? '/v1/ingest' : '/v1/otlp/logs',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': arm === 'ndjson' ? 'application/x-ndjson' : 'application/x-protobuf',
      },
      payload: arm === 'ndjson' ? r.ndjson : r.otlp,
    })
    if (res.statusCode !== 200) throw new Error(`${arm}: ${res.statusCode} ${res.body}`)
    if (arm === 'otlp') {
      const answer = m.decodeProtobufAnswer(new Uint8Array(res.rawPayload))
      if (answer.rejected > 0) throw new Error(`otlp: records refused: ${answer.message}`)
    }
  }
  const seconds = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  await app.close()
  const stored = sink.rows.length
  return {
    seconds,
    cpuUs: used.user + used.system,
    stored,
    ids: sink.rows.map((r) => r.event_id).sort(),
  }
}

/** Runs both arms, prints a line per run and a summary, and returns the figures. */
export async function httpArms(o: HttpArmsOptions): Promise<HttpFigures> {
  const m = await load()
  const keys = await m.apiKeys()
  const token = await keys.token({ roles: ['ingest'], tenant: 'bench' }, { expiresIn: '1h' })
  const list = await requests(m, o.events, o.batch)
  const warm = list.slice(0, Math.max(1, Math.ceil(list.length / 10)))
  for (const arm of ['ndjson', 'otlp'] as const) await run(m, arm, warm, keys, token)
  const rates: Record<ArmName, number[]> = { ndjson: [], otlp: [] }
  const cpu: Record<ArmName, number[]> = { ndjson: [], otlp: [] }
  for (let rep = 0; rep < o.reps; rep++) {
    const order: ArmName[] = rep % 2 === 0 ? ['ndjson', 'otlp'] : ['otlp', 'ndjson']
    const ids: string[][] = []
    for (const arm of order) {
      const r = await run(m, arm, list, keys, token)
      if (r.stored !== o.events) throw new Error(`${arm}: stored ${r.stored} of ${o.events}`)
      ids.push(r.ids)
      rates[arm].push(o.events / r.seconds)
      cpu[arm].push(r.cpuUs / o.events)
      console.log(
        `rep ${rep + 1} http ${arm.padEnd(6)} ${Math.round(o.events / r.seconds)
          .toString()
          .padStart(8)} events/s  CPU ${(r.cpuUs / o.events).toFixed(1)} us/event`,
      )
    }
    if (ids[0]!.join() !== ids[1]!.join()) throw new Error('the arms stored different events')
  }
  const ndjson = median(rates.ndjson)
  const otlp = median(rates.otlp)
  const figures: HttpFigures = {
    http_events: o.events,
    http_batch: o.batch,
    http_reps: o.reps,
    ndjson_events_per_s: Math.round(ndjson),
    otlp_events_per_s: Math.round(otlp),
    otlp_ratio: Number((otlp / ndjson).toFixed(2)),
    ndjson_cpu_us_per_event: Number(median(cpu.ndjson).toFixed(1)),
    otlp_cpu_us_per_event: Number(median(cpu.otlp).toFixed(1)),
  }
  console.log(
    `http medians over ${o.reps} rep(s) of ${o.events} events, ${o.batch} a request: /v1/ingest NDJSON ${figures.ndjson_events_per_s}/s, /v1/otlp/logs protobuf ${figures.otlp_events_per_s}/s, OTLP/NDJSON ${figures.otlp_ratio}x`,
  )
  return figures
}

/** `BENCH_ONLY=http` or `BENCH_ONLY=kafka` (a comma list; default both): which arms run. */
export function selectedArms(only = process.env.BENCH_ONLY): { http: boolean; kafka: boolean } {
  const words = only?.split(',').filter(Boolean)
  if (words === undefined || words.length === 0) return { http: true, kafka: true }
  return { http: words.includes('http'), kafka: words.includes('kafka') }
}

/** The HTTP arms' figures once measured (merged into `bench:ingest`'s JSON line). */
let measured: Partial<HttpFigures> = {}
export const httpFigures = (): Partial<HttpFigures> => measured

/**
 * `bench:ingest`: the HTTP arms first (`BENCH_HTTP_EVENTS`, default 50 000; `BENCH_HTTP_BATCH`,
 * default 1 000; `BENCH_HTTP_REPS`, default 3), then `kafka` (the Kafka arms, which end with the
 * JSON line, `httpFigures()` merged in); with the Kafka arms skipped, the JSON line is printed here.
 */
export async function ingestBench(kafka: () => Promise<void>): Promise<void> {
  const arms = selectedArms()
  if (arms.http)
    measured = await httpArms({
      events: Number(process.env.BENCH_HTTP_EVENTS ?? 50_000),
      batch: Number(process.env.BENCH_HTTP_BATCH ?? 1_000),
      reps: Number(process.env.BENCH_HTTP_REPS ?? 3),
    })
  if (arms.kafka) return kafka()
  console.log(JSON.stringify({ bench: 'ingest', ...measured }))
}
