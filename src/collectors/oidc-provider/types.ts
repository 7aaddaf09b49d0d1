/** Public types of the oidc-provider collector: what it uses of a provider, options, stats. */
import type { Logger } from 'pino'
import type { Emitter } from '../types.js'

/** What the collector uses of an oidc-provider (v9) `Provider`, itself a Koa application. */
export interface OidcProviderLike {
  readonly issuer: string
  // Koa's context is untyped here on purpose: every field is read defensively.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  use(middleware: (ctx: any, next: () => Promise<unknown>) => Promise<unknown>): unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off?(event: string, listener: (...args: any[]) => void): unknown
}

export interface OidcProviderCollectorOptions {
  emitter: Pick<Emitter, 'emit'>
  /** `source.id` of the events; default: the provider's issuer */
  source?: { id: string }
  tenant?: string
  /** HMAC key for fingerprints, shared with the resource-server collectors */
  fingerprintKey?: string | Uint8Array
  /** pino logger for the collector's own failures; default silent */
  logger?: Logger
  /** grants remembered to mark refresh resource switches (default 10 000; 0 turns it off) */
  maxTrackedGrants?: number
}

/** Each event emitted counts in one of the first four; `rejected` and `reduced` count across them. */
export interface OidcProviderStats {
  /** requests at the authorization, PAR, device and CIBA endpoints, refused ones too */
  authorizations: number
  /** token.issued events */
  tokens: number
  /** token.exchanged events */
  exchanges: number
  /** token requests answered without an access token (failed grants), as authorization.requested */
  failedGrants: number
  /** of the events emitted, those of a request the provider refused (at any endpoint) */
  rejected: number
  /** of the events emitted, those reduced: marked `attributes.reduced` */
  reduced: number
  /** requests that could not be recorded at all (logged, never with a token) */
  errors: number
}

export interface OidcProviderCollector {
  /** Stops collecting: removes the listeners; the middleware stays in the stack, doing nothing. */
  detach(): void
  stats(): OidcProviderStats
}
