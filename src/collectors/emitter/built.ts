/**
 * The emitter's path for events a collector of this package built and vouched for (rs/event.ts
 * `vouched`): screened for raw JWTs and encoded, not parsed again with the contract's schema.
 *
 * Why: validating every `token.presented` event with zod was the largest part of what the
 * resource-server collector cost a request (docs/design/collector-cost.md). Those events are
 * valid by construction: every text copied from a request or a token is cut, cleaned and bounded
 * as the contract says (sanitize.ts), identifiers come from code, and what construction cannot
 * bound (an HTTP status the host chose, a text that grew when a token was cut out of it, batch
 * lists, a configuration the contract refuses) makes the collector take the ordinary path, where
 * `parseEvent` decides as before. Tests hold the claim: hostile requests and tokens, generated,
 * never give a vouched event that `parseEvent` refuses or changes.
 *
 * The method is reached through a symbol this module keeps, so only the emitter created here
 * offers it, and only a collector handing it the event it built calls it: an emitter wrapped by
 * the host (which may change an event) gets `emit` and validates as before.
 */
import type { AuditEvent } from '../../events/schema.js'
import type { Emitter } from '../types.js'

export const EMIT_BUILT: unique symbol = Symbol('audtrail.emitBuilt')

export interface BuiltEventSink {
  [EMIT_BUILT](event: AuditEvent): void
}

/** The emitter's vouched path when it is audtrail's own emitter, else its `emit`. */
export function builtEventSink(emitter: Emitter): (event: AuditEvent) => void {
  const own = (emitter as Partial<BuiltEventSink>)[EMIT_BUILT]
  return typeof own === 'function' ? own.bind(emitter) : (event) => emitter.emit(event)
}
