/** What every AS event carries, whichever builder makes it. */
import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { EventValidationError } from '../../errors.js'
import { parseEvent } from '../../events/parse.js'
import { LIMITS } from '../../events/schema.js'
import { dropUndefined, strict, type Input } from './input.js'
import type { Sanitizer } from './sanitizer.js'

/** The fields every event has: the AS's own (checked, a mistake throws) and the client's (cleaned). */
export function common(i: Input, s: Sanitizer, fn: string): Input {
  const source = strict(i, 'source', fn)
  if (source === null || typeof source !== 'object')
    throw new TypeError(`${fn}: source is required`)
  const occurred = strict(i, 'occurredAt', fn) ?? new Date()
  if (occurred instanceof Date && Number.isNaN(occurred.getTime()))
    throw new TypeError(`${fn}: occurredAt is not a valid date`)
  const own = {
    schema_version: 1,
    event_id: strict(i, 'eventId', fn) ?? randomUUID(),
    occurred_at: occurred instanceof Date ? occurred.toISOString() : occurred,
    tenant: strict(i, 'tenant', fn) ?? 'default',
    source: {
      kind: strict(source as Input, 'kind', fn) ?? 'authorization_server',
      id: strict(source as Input, 'id', fn),
    },
    issuer: strict(i, 'issuer', fn),
  }
  // The AS's own fields are checked alone, so a mistake there is never reduced away.
  const check = parseEvent(
    dropUndefined({
      ...own,
      event_type: 'authorization.requested',
      requested_resources: [],
      requested_scopes: [],
    }),
  )
  if (!check.ok) throw new EventValidationError(check.reasons)

  const network = s.read(i, 'network')
  const ip = normalizeIp(s.read(network, 'ip', 'network.ip'))
  const ua = s.read(network, 'userAgent', 'user_agent')
  const userAgent =
    ua === undefined || ua === null || ua === ''
      ? undefined
      : s.text('user_agent', ua, { max: LIMITS.userAgent })
  return {
    ...own,
    client_id: s.ident('client_id', s.read(i, 'clientId')),
    subject: s.ident('subject', s.read(i, 'subject')),
    session_id: s.ident('session_id', s.read(i, 'sessionId')),
    ...((ip !== undefined || userAgent !== undefined) && {
      network: { ip, user_agent: userAgent },
    }),
  }
}

function normalizeIp(ip: unknown): string | undefined {
  if (typeof ip !== 'string' || ip.length > 64) return undefined
  const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
  return isIP(plain) === 0 ? undefined : plain
}
