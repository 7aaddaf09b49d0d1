/** The last step of every AS builder: attributes in, then validated, or reduced to what passes. */
import { EventValidationError } from '../../errors.js'
import { parseEvent } from '../../events/parse.js'
import { reduceEvent } from '../../events/reduce.js'
import { eventAttributes } from './attributes.js'
import { dropUndefined, type Input } from './input.js'
import type { Sanitizer } from './sanitizer.js'

/**
 * Attributes and marks in, then validated: an event the contract still refuses is reduced
 * (reduce.ts); only a token or token reference with no key is the AS's mistake and throws.
 */
export function finish(event: Input, s: Sanitizer, given: unknown, own: Input = {}): unknown {
  const built = dropUndefined(event)
  const attributes = eventAttributes(s, own, given)
  if (attributes !== undefined) built.attributes = attributes
  const parsed = parseEvent(built)
  if (parsed.ok) return parsed.event
  const mistakes = parsed.reasons.filter((r) => /^(token|subject_token): must carry/.test(r))
  if (mistakes.length > 0) throw new EventValidationError(mistakes)
  const reduced = reduceEvent(built)
  if (reduced.ok) return reduced.event
  throw new EventValidationError(reduced.reasons)
}
