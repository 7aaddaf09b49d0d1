/**
 * bench:otlp — only the HTTP arms of `bench:ingest` (bench/ingest-http.ts): the same events
 * through `POST /v1/ingest` (NDJSON) and `POST /v1/otlp/logs` (OTLP protobuf), into memory
 * storage. `BENCH_EVENTS` (default 50 000), `BENCH_BATCH` (default 1 000), `BENCH_REPS` (default
 * 3). Prints each run, the medians and their ratio, then one JSON line with the keys
 * `bench:ingest` gives them (`ndjson_events_per_s`, `otlp_events_per_s`, `otlp_ratio`, ...).
 */
import { httpArms } from './ingest-http.js'

const figures = await httpArms({
  events: Number(process.env.BENCH_EVENTS ?? 50_000),
  batch: Number(process.env.BENCH_BATCH ?? 1_000),
  reps: Number(process.env.BENCH_REPS ?? 3),
})
console.log(JSON.stringify({ bench: 'otlp', ...figures }))
