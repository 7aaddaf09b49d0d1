/** RFC 9728 protected resource metadata: the document, its well-known URL, and the paths served. */
import type { ProtectedResourceMetadataOptions } from './options.js'

export const WELL_KNOWN = '/.well-known/oauth-protected-resource'

const SPLIT = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(\?[^#]*)?/

function split(resource: string): { origin: string; path: string; query: string } {
  const m = SPLIT.exec(resource)
  if (m === null) return { origin: resource, path: '', query: '' }
  const path = m[2] === '/' ? '' : (m[2] ?? '')
  return { origin: m[1]!, path, query: m[3] ?? '' }
}

/**
 * RFC 9728 3.1: the well-known string goes between the host and the path (and query) of the
 * resource identifier: `https://mcp.example/mcp` -> `https://mcp.example/.well-known/oauth-protected-resource/mcp`.
 */
export function metadataUrlFor(resource: string): string {
  const { origin, path, query } = split(resource)
  return `${origin}${WELL_KNOWN}${path}${query}`
}

/** Local paths that answer with the document: the path-suffixed form first, then the root one. */
export function metadataPathsFor(resource: string, serveRoot: boolean): string[] {
  const { path } = split(resource)
  if (path === '') return [WELL_KNOWN]
  return serveRoot ? [`${WELL_KNOWN}${path}`, WELL_KNOWN] : [`${WELL_KNOWN}${path}`]
}

export interface MetadataRoute {
  paths: readonly string[]
  document: Readonly<Record<string, unknown>>
  /** serialized once */
  body: string
  headers: Readonly<Record<string, string>>
}

export function metadataRoute(
  resource: string,
  issuer: string,
  options: ProtectedResourceMetadataOptions,
  requiredScopes: readonly string[] | undefined,
): MetadataRoute {
  const scopes = options.scopesSupported ?? requiredScopes
  const document: Record<string, unknown> = {
    ...options.extra,
    resource,
    authorization_servers: [...(options.authorizationServers ?? [issuer])],
    bearer_methods_supported: ['header'],
  }
  if (scopes !== undefined && scopes.length > 0) document.scopes_supported = [...scopes]
  if (options.resourceName !== undefined) document.resource_name = options.resourceName
  if (options.resourceDocumentation !== undefined)
    document.resource_documentation = options.resourceDocumentation
  return {
    paths: metadataPathsFor(resource, options.serveRoot ?? true),
    document,
    body: JSON.stringify(document),
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'public, max-age=300',
      // Public metadata that browser-based MCP clients fetch cross-origin.
      'access-control-allow-origin': '*',
    },
  }
}
