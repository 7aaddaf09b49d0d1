/** What the request handlers of one attached collector share, and what each of them returns. */
import type { AuditEvent } from '../../events/schema.js'
import type { GrantMemory } from './grant-memory.js'
import type { Outcome } from './outcome.js'
import type { OidcProviderLike } from './types.js'

export type Counter = 'authorizations' | 'tokens' | 'exchanges' | 'failedGrants'
export type Built = { event: AuditEvent; counter: Counter; rejected: boolean }

/** One attached collector: the provider and its facts, and what the provider's events said. */
export interface CollectorState {
  provider: OidcProviderLike
  source: { id: string; kind: 'authorization_server' }
  tenant: string | undefined
  fingerprintKey: string | Uint8Array | undefined
  outcomes: WeakMap<object, Outcome>
  grants: GrantMemory
}
