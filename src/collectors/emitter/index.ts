/** `audtrail/emitter`: `createEmitter` and its transports (kafka, http, otlp, memory, or your own). */
export { createEmitter, type AudtrailEmitter } from './emitter.js'
export type { EmitterOptions } from './options.js'
export type { DropReason, EmitterStatsDetail } from './stats.js'
export type { OutboundEvent, Rejection, Transport } from './transports/types.js'
export { createMemoryTransport, type MemoryTransport } from './transports/memory.js'
export { createHttpTransport, type HttpTransportConfig } from './transports/http.js'
export { createOtlpTransport, type OtlpTransportConfig } from './transports/otlp.js'
export {
  createKafkaTransport,
  DEFAULT_TOPIC,
  type KafkaTransportConfig,
} from './transports/kafka.js'
export type { Emitter, EmitterStats, TransportConfig } from '../types.js'
