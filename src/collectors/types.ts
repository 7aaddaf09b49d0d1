/** The emitter interface every collector writes to; implementations live in src/collectors/emitter. */
import type { AuditEvent, AuditEventInput } from '../events/schema.js'

export interface EmitterStats {
  /** events handed to emit() */
  emitted: number
  /** events the transport acknowledged */
  sent: number
  /** events written to the local spool while the transport was down */
  spooled: number
  /** spooled events sent after the transport came back */
  replayed: number
  /** events lost because every bound (queue, spool) was full, or invalid at emit() */
  dropped: number
  /** failed transport attempts */
  failures: number
  /** events waiting in memory now */
  queued: number
}

export interface Emitter {
  /** Queue one event; returns at once, never throws, never blocks the caller. */
  emit(event: AuditEventInput): void
  /** Send everything queued (and spooled, when the transport is up). */
  flush(): Promise<void>
  /** Flush, then release the transport; later emits are dropped and counted. */
  close(): Promise<void>
  stats(): EmitterStats
}

export type TransportConfig =
  | { type: 'kafka'; brokers: string[]; topic?: string; clientId?: string }
  /** POSTs batches in the `/v1/ingest` format; `token` is a bearer token for the ingest role. */
  | { type: 'http'; url: string; token?: string }
  /**
   * POSTs batches as OTLP/HTTP logs (JSON, gzip unless `gzip: false`) with the `audtrail.*`
   * attributes: to audtrail's `/v1/otlp/logs` or an OpenTelemetry Collector's `/v1/logs`.
   */
  | { type: 'otlp'; url: string; token?: string; gzip?: boolean }
  /** Appends every sent event, in order, to `events` (tests, examples). */
  | { type: 'memory'; events?: AuditEvent[] }
