/**
 * A token's RFC 8693 delegation chain from the stored `token.exchanged` events: the exchanges back
 * to the token the user consented to (ancestors, nearest first) and the tokens exchanged from it
 * (descendants, breadth first). For the token timeline: the chain around one token. Both
 * repositories walk it here, each with its own way of reading one level's links.
 */
import { fromDateTime64 } from '../events/event-row.js'
import type { DelegationBounds, DelegationChain, DelegationLink } from './repositories.js'

/** A row of delegation-links.sql. */
export interface DelegationLinkRow {
  event_id: string
  occurred_at: string
  token_key: string
  subject_token_key: string
  client_id: string
  actor_subject: string
  actor_client_id: string
  granted_aud: string[]
  token_scopes: string[]
  /** `attributes['act_depth']` as stored (JSON text), '' when absent */
  act_depth: string
}

export function delegationLink(r: DelegationLinkRow): DelegationLink {
  const depth = r.act_depth === '' ? NaN : Number(r.act_depth)
  return {
    event_id: r.event_id,
    occurred_at: fromDateTime64(r.occurred_at),
    token_key: r.token_key,
    subject_token_key: r.subject_token_key,
    client_id: r.client_id,
    actor: { subject: r.actor_subject || null, client_id: r.actor_client_id || null },
    granted_aud: r.granted_aud,
    scopes: r.token_scopes,
    act_depth: Number.isInteger(depth) ? depth : null,
  }
}

/**
 * The exchanges of one tenant that issued one of `keys` or took one as subject, oldest first
 * (by occurred_at, then event id), at most `limit`.
 */
export type FetchLinks = (keys: string[], limit: number) => Promise<DelegationLink[]>

/**
 * Walks the chain a level per fetch (at most `maxLevels` each way, `maxLinks` links in all); a key
 * seen twice (a cycle in forged events) is not followed again.
 */
export async function walkDelegationChain(
  fetchLinks: FetchLinks,
  tokenKey: string,
  bounds: DelegationBounds = {},
): Promise<DelegationChain> {
  const maxLevels = bounds.maxLevels ?? 16
  const maxLinks = bounds.maxLinks ?? 256
  const chain: DelegationChain = {
    token_key: tokenKey,
    ancestors: [],
    descendants: [],
    truncated: false,
  }
  const seen = new Set([tokenKey])
  let up = tokenKey
  let down = [tokenKey]
  for (let level = 0; level < maxLevels && (up !== '' || down.length > 0); level++) {
    const keys = [...new Set([...(up === '' ? [] : [up]), ...down])]
    const links = await fetchLinks(keys, maxLinks + 1)
    const parent = up === '' ? undefined : links.find((l) => l.token_key === up)
    const children = links.filter(
      (l) => down.includes(l.subject_token_key) && !seen.has(l.token_key),
    )
    up = ''
    if (parent !== undefined) {
      chain.ancestors.push(parent)
      if (parent.subject_token_key !== '' && !seen.has(parent.subject_token_key)) {
        up = parent.subject_token_key
        seen.add(up)
      }
    }
    for (const c of children) seen.add(c.token_key)
    chain.descendants.push(...children)
    down = [...new Set(children.map((c) => c.token_key))]
    if (chain.ancestors.length + chain.descendants.length > maxLinks || links.length > maxLinks) {
      chain.truncated = true
      break
    }
    if (level === maxLevels - 1 && (up !== '' || down.length > 0)) chain.truncated = true
  }
  return chain
}
