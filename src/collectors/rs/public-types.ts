/** The types every resource-server collector adapter (Express, Fastify) exports to its users. */
export type { AudtrailRequestInfo } from './core.js'
export type {
  CollectorLogger,
  CollectorMode,
  JwsAlgorithm,
  ProtectedResourceMetadataOptions,
} from './options.js'
