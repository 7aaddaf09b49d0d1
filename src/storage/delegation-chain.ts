/**
 * A token's RFC 8693 delegation chain from the stored `token.exchanged` events: the exchanges back
 * to the token the user consented to (ancestors, nearest first) and the tokens exchanged from it
 * (descendants, breadth first). For the token timeline: the chain around one token.
 */
import type { Storage } from './client.js'
import { fromDateTime64 } from '../events/event-row.js'
import { loadQuery } from './sql.js'

/** One exchange: `token_key` was issued for `subject_token_key`. */
export interface DelegationLink {
  event_id: string
  occurred_at: string
  token_key: string
  subject_token_key: string
  client_id: string
  actor: { subject: string | null; client_id: string | null }
  granted_aud: string[]
  scopes: string[]
  /** `attributes.act_depth` as the AS recorded it, when it did */
  act_depth: number | null
}

export interface DelegationChain {
  token_key: string
  /** nearest first: the exchange that issued this token, then the one that issued its subject... */
  ancestors: DelegationLink[]
  /** the exchanges that took this token (or one of its descendants) as subject, level by level */
  descendants: DelegationLink[]
  /** true when a bound (levels or links) cut the walk short */
  truncated: boolean
}

interface Row {
  event_id: string
  occurred_at: string
  token_key: string
  subject_token_key: string
  client_id: string
  actor_subject: string
  actor_client_id: string
  granted_aud: string[]
  token_scopes: string[]
  act_depth: string
}

function link(r: Row): DelegationLink {
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
 * Walks the chain a level per query (at most `maxLevels` each way, `maxLinks` links in all);
 * a key seen twice (a cycle in forged events) is not followed again.
 */
export async function delegationChain(
  storage: Storage,
  tenant: string,
  tokenKey: string,
  options: { maxLevels?: number; maxLinks?: number } = {},
): Promise<DelegationChain> {
  const maxLevels = options.maxLevels ?? 16
  const maxLinks = options.maxLinks ?? 256
  const query = loadQuery('delegation-links', storage.database)
  const fetchLinks = async (keys: string[]) => {
    const rs = await storage.client.query({
      query,
      query_params: { tenant, keys, limit: maxLinks + 1 },
      format: 'JSONEachRow',
    })
    return (await rs.json<Row>()).map(link)
  }
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
    const links = await fetchLinks(keys)
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
