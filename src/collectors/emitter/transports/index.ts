/** The transport registry: one factory per `type` of `TransportConfig`. */
import type { Logger } from 'pino'
import type { TransportConfig } from '../../types.js'
import { createHttpTransport } from './http.js'
import { createKafkaTransport } from './kafka.js'
import { createMemoryTransport } from './memory.js'
import { createOtlpTransport } from './otlp.js'
import type { Transport } from './types.js'

interface Context {
  logger: Logger
  sendTimeoutMs: number
}

type Factories = {
  [K in TransportConfig['type']]: (
    config: Extract<TransportConfig, { type: K }>,
    ctx: Context,
  ) => Transport
}

const FACTORIES: Factories = {
  kafka: (config, ctx) => createKafkaTransport(config, ctx.logger),
  http: (config, ctx) => createHttpTransport({ ...config, timeoutMs: ctx.sendTimeoutMs }),
  otlp: (config, ctx) => createOtlpTransport({ ...config, timeoutMs: ctx.sendTimeoutMs }),
  memory: (config) => createMemoryTransport(config),
}

export function createTransport(config: TransportConfig, ctx: Context): Transport {
  const factory = FACTORIES[config.type] as (config: TransportConfig, ctx: Context) => Transport
  return factory(config, ctx)
}
