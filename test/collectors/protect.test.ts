import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.js'
import { resolveConfig } from '../../src/collectors/rs/resolve.js'
import { requestPath } from '../../src/collectors/rs/sanitize.js'
import {
  canonicalPaths,
  isCorsPreflight,
  prefixMatcher,
  type ProtectTarget,
} from '../../src/collectors/rs/protect.js'
import type { CollectorOptions } from '../../src/collectors/rs/options.js'
import { ISSUER, TestEmitter } from './rs/fixtures.js'

const RESOURCE = 'https://mcp-a.example/mcp'

function paths(target: string): readonly string[] {
  const c = canonicalPaths(target)
  if (!c.ok) throw new Error(`${target} refused: ${c.reason}`)
  return c.paths
}

function refused(target: string): string | undefined {
  const c = canonicalPaths(target)
  return c.ok ? undefined : c.reason
}

const at = (url: string, route?: string) => ({ path: requestPath(url), url, route })

describe('canonicalPaths: the spellings of a request target a router may resolve', () => {
  it.each([
    ['/mcp', '/mcp'],
    ['/MCP', '/mcp'],
    ['/Mcp/', '/mcp'],
    ['//mcp//', '/mcp'],
    ['/mcp?x=1', '/mcp'],
    ['/mcp#frag', '/mcp'],
    ['/mcp;jsessionid=1', '/mcp'],
    ['/mcp;x=1/tools', '/mcp/tools'],
    ['/mcp\\', '/mcp'],
    ['\\mcp', '/mcp'],
    ['/%6Dcp', '/mcp'],
    ['/%6d%63%70', '/mcp'],
    ['/%256Dcp', '/mcp'],
    ['/%25%36%44cp', '/mcp'],
    ['/%2525256Dcp', '/mcp'],
    ['/%4Dcp', '/mcp'],
    ['/%2Fmcp', '/mcp'],
    ['/x%2Fmcp', '/x/mcp'],
    ['/mcp%5Ctools', '/mcp/tools'],
    ['/mcp%3Fx', '/mcp'],
    ['/mcp%23x', '/mcp'],
    ['/mcp%3Bx', '/mcp'],
    ['http://127.0.0.1:8080/mcp', '/mcp'],
    ['HTTPS://h/MCP?x', '/mcp'],
    ['ws://h/mcp', '/mcp'],
    ['foo+bar.baz-1://user@h:1/mcp', '/mcp'],
    ['http:///mcp', '/mcp'],
    ['http://h;x/mcp', '/mcp'],
    ['http:\\\\h\\mcp', '/mcp'],
    ['http://h', '/'],
    ['http://h?x=/mcp', '/'],
    ['//h/mcp', '/mcp'],
    ['/caf%C3%A9', '/café'],
    ['/CAF%C3%89', '/café'],
    ['/%CE%A3%CE%91%CF%82', '/σασ'],
    ['/', '/'],
  ])('%s has the spelling %s', (target, canonical) => {
    expect(paths(target)).toContain(canonical)
  })

  it('keeps the spelling of every decoding depth, so no router view is lost', () => {
    expect(paths('/%256Dcp')).toEqual(['/%256dcp', '/%6dcp', '/mcp'])
    expect(paths('/a%2525b')).toEqual(['/a%2525b', '/a%25b', '/a%b'])
    expect(paths('//mcp')).toEqual(['/mcp', '/'])
  })

  it('keeps a decoded lone % literally after the first round', () => {
    expect(paths('/100%25')).toEqual(['/100%25', '/100%'])
    expect(paths('/100%25zz')).toEqual(['/100%25zz', '/100%zz'])
  })

  it.each([
    ['', 'empty'],
    ['*', 'not_origin_or_absolute_form'],
    ['example.com:443', 'not_origin_or_absolute_form'],
    ['mcp', 'not_origin_or_absolute_form'],
    ['http:/mcp', 'not_origin_or_absolute_form'],
    ['foo:/mcp', 'not_origin_or_absolute_form'],
    ['/mcp%zz', 'malformed_escape'],
    ['/mcp%', 'malformed_escape'],
    ['/mcp%6', 'malformed_escape'],
    ['/mcp%C3%28', 'malformed_escape'],
    ['/mcp%C3', 'malformed_escape'],
    ['/mcp%ED%A0%80', 'malformed_escape'],
    ['/mcp%2500%25C3', 'malformed_escape'],
    ['/mcp%00', 'control_character'],
    ['/mcp%0A', 'control_character'],
    ['/mcp%09', 'control_character'],
    ['/mcp%7F', 'control_character'],
    ['/mcp%2500', 'control_character'],
    ['/mcp\u00a0', 'not_printable_ascii'],
    ['/mcp\u00e9', 'not_printable_ascii'],
    ['/mcp x', 'not_printable_ascii'],
    ['/mcp\t', 'not_printable_ascii'],
    ['/%252525252e', 'too_deeply_encoded'],
    ['/x/../mcp', 'dot_segment'],
    ['/./mcp', 'dot_segment'],
    ['/mcp/.', 'dot_segment'],
    ['/mcp/..', 'dot_segment'],
    ['/%2e%2e/mcp', 'dot_segment'],
    ['/%2E./mcp', 'dot_segment'],
    ['/x/%252e%252e/mcp', 'dot_segment'],
    ['/..;/mcp', 'dot_segment'],
    ['/mcp/..;x/', 'dot_segment'],
    ['/x%2F..%2Fmcp', 'dot_segment'],
    ['/x\\..\\mcp', 'dot_segment'],
    ['/x%5C..%5Cmcp', 'dot_segment'],
    ['http://h/x/../mcp', 'dot_segment'],
    ['/' + 'a'.repeat(2048), 'too_long'],
    [`http://h/${'a'.repeat(2048)}`, 'too_long'],
  ])('%j cannot be normalised (%s)', (target, reason) => {
    expect(refused(target)).toBe(reason)
  })

  it('keeps dotted names that are not dot segments', () => {
    expect(paths('/.well-known/x')).toEqual(['/.well-known/x'])
    expect(paths('/a.../b..c/...')).toEqual(['/a.../b..c/...'])
  })

  it('reads a path of the contract length and stays bounded on hostile ones', () => {
    expect(paths('/' + 'a'.repeat(2047))).toEqual(['/' + 'a'.repeat(2047)])
    // 680 nested escapes: decoding rounds stop at four, then the target is refused.
    expect(refused('/' + '%25'.repeat(680))).toBeUndefined()
    expect(paths('/' + '%25'.repeat(680))).toHaveLength(2)
    expect(refused(`/x/${'%2525'.repeat(400)}/%252e%252e`)).toBe('dot_segment')
    expect(paths(`/x/${'%2525'.repeat(400)}`)).toHaveLength(3)
    expect(refused('/' + '/'.repeat(100_000))).toBe('too_long')
    // A long query never counts against the path.
    expect(paths(`/mcp?${'q'.repeat(100_000)}`)).toEqual(['/mcp'])
  })

  it('reads a missing target as the root', () => {
    expect(canonicalPaths(undefined)).toEqual({ ok: true, paths: ['/'] })
  })
})

describe('prefixMatcher: a protect prefix covers every spelling of its paths', () => {
  const protects = prefixMatcher(['/mcp', '/orders/'])

  it.each([
    '/mcp',
    '/mcp/',
    '/mcp/tools',
    '/MCP',
    '/Mcp/',
    '//mcp',
    '/mcp;x',
    '/%6Dcp',
    '/%256Dcp',
    '/%2Fmcp',
    '/mcp%2Fx',
    'http://h:1/mcp',
    'HTTP://H/MCP',
    'foo://h/mcp',
    'http:///mcp',
    '//evil/mcp',
    '/orders',
    '/ORDERS/1',
    '/%6Frders',
    '/orders%2F1',
    '/mcp\\',
    '/mcp#x',
    // unnormalisable: protected whatever the prefix
    '/health/../mcp',
    '/health/..',
    '/health%zz',
    '/health%00',
    '*',
    'example.com:443',
  ])('%s is protected', (url) => {
    expect(protects(at(url))).toBe(true)
  })

  it('protects a path longer than the contract allows, whatever it starts with', () => {
    expect(protects(at(`/health/${'a'.repeat(3000)}`))).toBe(true)
  })

  it.each([
    '/',
    '/health',
    '/HEALTH/',
    '/mcp-docs',
    '/mcpx',
    '/mc',
    '/public/mcp',
    '/%6Dc',
    'http://h/health',
    '/health?next=/mcp',
    '/health#/mcp',
    '/health;/mcp',
    '/ordersx',
  ])('%s is not protected', (url) => {
    expect(protects(at(url))).toBe(false)
  })

  it('judges the route the router matched as a second input', () => {
    expect(protects(at('/x', '/mcp/*'))).toBe(true)
    expect(protects(at('/x', '/MCP'))).toBe(true)
    expect(protects(at('/x', '/orders/:id'))).toBe(true)
    expect(protects(at('/x', '/:tenant/mcp'))).toBe(false)
    expect(protects(at('/health', '/health'))).toBe(false)
  })

  it('canonicalises the prefixes the same way, Unicode letters included', () => {
    const m = prefixMatcher(['/MCP/', '//api//v1', '/café', '/a%2Fb'])
    expect(m(at('/mcp'))).toBe(true)
    expect(m(at('/api/v1/x'))).toBe(true)
    expect(m(at('/API/V1'))).toBe(true)
    expect(m(at('/api/v2'))).toBe(false)
    expect(m(at('/caf%C3%A9/menu'))).toBe(true)
    expect(m(at('/CAF%C3%89'))).toBe(true)
    expect(m(at('/a/b'))).toBe(true)
    expect(m(at('/a%2fb'))).toBe(true)
    expect(prefixMatcher(['/'])(at('/anything'))).toBe(true)
  })

  it('refuses a prefix that cannot be normalised, naming it', () => {
    expect(() => prefixMatcher(['/ok', '/a/../b', '/c%zz'])).toThrow(ConfigError)
    try {
      prefixMatcher(['/ok', '/a/../b', '/c%zz'])
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'audtrail collector: protect: "/a/../b" (dot_segment)',
        'audtrail collector: protect: "/c%zz" (malformed_escape)',
      ])
    }
  })
})

describe('isCorsPreflight', () => {
  const preflight = { origin: 'https://app.example', 'access-control-request-method': 'POST' }
  it.each<[string, string, IncomingHttpHeaders, boolean]>([
    ['a real preflight', 'OPTIONS', preflight, true],
    ['with an empty body', 'OPTIONS', { ...preflight, 'content-length': '0' }, true],
    ['without Origin', 'OPTIONS', { 'access-control-request-method': 'POST' }, false],
    ['without the requested method', 'OPTIONS', { origin: 'https://app.example' }, false],
    ['with an empty Origin', 'OPTIONS', { ...preflight, origin: ' ' }, false],
    ['with a body', 'OPTIONS', { ...preflight, 'content-length': '12' }, false],
    ['chunked', 'OPTIONS', { ...preflight, 'transfer-encoding': 'chunked' }, false],
    ['of another method', 'POST', preflight, false],
    ['without headers', 'OPTIONS', {}, false],
  ])('%s', (_name, method, headers, expected) => {
    expect(isCorsPreflight(method, headers)).toBe(expected)
  })
})

describe('resolveConfig().isProtected', () => {
  function config(options: Partial<CollectorOptions<string>> = {}) {
    return resolveConfig<string>(
      {
        resource: RESOURCE,
        issuer: ISSUER,
        mode: 'observe',
        emitter: new TestEmitter(),
        protectedResourceMetadata: true,
        ...options,
      },
      { kind: 'resource_server' },
    )
  }
  const target = (
    method: string,
    url: string,
    headers: IncomingHttpHeaders = {},
    route?: string,
  ): ProtectTarget => ({ path: requestPath(url), url, method, headers, route })
  const preflight = { origin: 'https://app.example', 'access-control-request-method': 'POST' }

  it('protects everything without prefixes but real preflights and the metadata GET/HEAD', () => {
    const cfg = config()
    expect(cfg.isProtected('r', target('GET', '/anything'))).toBe(true)
    expect(cfg.isProtected('r', target('OPTIONS', '/mcp'))).toBe(true)
    expect(cfg.isProtected('r', target('OPTIONS', '/mcp', { origin: 'https://x' }))).toBe(true)
    expect(cfg.isProtected('r', target('OPTIONS', '/mcp', preflight))).toBe(false)
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      expect(cfg.isProtected('r', target('GET', path))).toBe(false)
      expect(cfg.isProtected('r', target('HEAD', `${path}?x=1`))).toBe(false)
      expect(cfg.isProtected('r', target('POST', path))).toBe(true)
      expect(cfg.isProtected('r', target('DELETE', path))).toBe(true)
      expect(cfg.isProtected('r', target('GET', `${path}/`))).toBe(true)
      expect(cfg.isProtected('r', target('GET', path.toUpperCase()))).toBe(true)
      expect(cfg.isProtected('r', target('GET', `http://h${path}`))).toBe(true)
    }
  })

  it('judges prefixes on the canonical target and the matched route', () => {
    const cfg = config({ protect: '/mcp' })
    expect(cfg.isProtected('r', target('POST', '/MCP'))).toBe(true)
    expect(cfg.isProtected('r', target('POST', 'http://h/mcp'))).toBe(true)
    expect(cfg.isProtected('r', target('GET', '/%6Dcp'))).toBe(true)
    expect(cfg.isProtected('r', target('GET', '/x', {}, '/mcp/*'))).toBe(true)
    expect(cfg.isProtected('r', target('GET', '/x/../y'))).toBe(true)
    expect(cfg.isProtected('r', target('GET', '/health'))).toBe(false)
    expect(cfg.isProtected('r', target('OPTIONS', '/mcp', preflight))).toBe(false)
    expect(cfg.isProtected('r', target('OPTIONS', '/MCP'))).toBe(true)
    expect(() => config({ protect: ['/a/./b'] })).toThrow(ConfigError)
  })

  it('leaves a custom protect function in charge of every target', () => {
    const seen: string[] = []
    const cfg = config({
      protect: (req) => {
        seen.push(req)
        return req === 'private'
      },
    })
    expect(cfg.isProtected('public', target('GET', '/x/../%zz'))).toBe(false)
    expect(cfg.isProtected('private', target('GET', '/health'))).toBe(true)
    expect(cfg.isProtected('private', target('OPTIONS', '/health', preflight))).toBe(false)
    expect(seen).toEqual(['public', 'private'])
  })
})
