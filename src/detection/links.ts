/**
 * Links between the answers (CONTRACT.md): a finding to itself, its events, its rule, its console
 * page and its token; a token and an event back to their findings. Paths are relative to the API's
 * origin; with AUDTRAIL_PUBLIC_URL they are absolute (alerts use the same builder).
 */

/** `path` under `base` (the public URL, trailing slashes dropped), or the path alone. */
export function href(base: string | undefined, path: string): string {
  return base ? `${base.replace(/\/+$/, '')}${path}` : path
}

const q = (value: string) => encodeURIComponent(value)

/** The token a finding names: its token_key key, else its evidence's. */
export function findingToken(
  keys: Readonly<Record<string, string>>,
  evidence: Readonly<Record<string, unknown>>,
): string | undefined {
  if (keys.token_key) return keys.token_key
  return typeof evidence.token_key === 'string' && evidence.token_key !== ''
    ? evidence.token_key
    : undefined
}

export interface FindingLinks {
  self: string
  events: string
  rule: string
  console: string
  token?: string
}

export function findingLinks(
  f: { id: string; rule_id: string; token?: string },
  base?: string,
): FindingLinks {
  return {
    self: href(base, `/v1/findings/${f.id}`),
    events: href(base, `/v1/events?finding=${f.id}`),
    rule: href(base, `/v1/rules/${q(f.rule_id)}`),
    console: href(base, `/findings/${f.id}`),
    ...(f.token !== undefined && { token: href(base, `/v1/tokens/${q(f.token)}`) }),
  }
}

/** An event's links: its token's timeline and the findings about it (its token, else client). */
export function eventLinks(
  e: { token_key: string | null; client_id?: string },
  base?: string,
): { findings: string | null; token?: string } {
  const findings = e.token_key
    ? `/v1/findings?token=${q(e.token_key)}`
    : e.client_id
      ? `/v1/findings?client=${q(e.client_id)}`
      : undefined
  return {
    findings: findings ? href(base, findings) : null,
    ...(e.token_key ? { token: href(base, `/v1/tokens/${q(e.token_key)}`) } : {}),
  }
}

/** A token timeline's links: itself, its findings, its events. */
export function tokenLinks(key: string, base?: string) {
  return {
    self: href(base, `/v1/tokens/${q(key)}`),
    findings: href(base, `/v1/findings?token=${q(key)}`),
    events: href(base, `/v1/events?token=${q(key)}`),
  }
}
