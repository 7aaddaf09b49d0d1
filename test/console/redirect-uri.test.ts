/**
 * The console's OIDC redirect URI (issue 24): with AUDTRAIL_PUBLIC_URL it is built on it and a
 * forged Host header changes nothing; without it only a loopback Host is used, and a server off
 * loopback refuses to start sign-in without a public URL (src/cli/runtime.ts consoleOptions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator } from '../../src/api/auth.js'
import { consoleOptions } from '../../src/cli/runtime.js'
import { loadConfig } from '../../src/config.js'
import {
  startAuthorizationServer,
  type DemoAuthorizationServer,
} from '../../src/demo/authorization-server.js'
import { ConfigError } from '../../src/errors.js'
import { testApp } from '../helpers/api-app.js'

const AUDIENCE = 'https://audtrail.test/api'
const PUBLIC = 'https://audtrail.example.com'
const quiet = {
  emit: () => {},
  flush: async () => {},
  close: async () => {},
  stats: () => ({ emitted: 0, sent: 0, spooled: 0, replayed: 0, dropped: 0, failures: 0 }),
}

let as: DemoAuthorizationServer
beforeAll(async () => {
  as = await startAuthorizationServer(quiet as never)
})
afterAll(async () => {
  await as?.close()
})

function config(extra: Record<string, string>) {
  return loadConfig({
    AUDTRAIL_JWKS_URL: as.jwksUri,
    AUDTRAIL_API_ISSUER: as.issuer,
    AUDTRAIL_API_AUDIENCE: AUDIENCE,
    AUDTRAIL_CONSOLE_CLIENT_ID: 'audtrail-console',
    ...extra,
  })
}

/** The redirect_uri the console sends the browser to the provider with, for a given Host. */
async function redirectUriFor(extra: Record<string, string>, host: string): Promise<string> {
  const app = await testApp({} as never, {
    authenticate: createAuthenticator({}),
    // The pages are registered with a storage; sign-in itself never reads it.
    storage: {} as never,
    console: consoleOptions(config(extra)),
  })
  try {
    const res = await app.inject({ url: '/auth/login?next=/', headers: { host } })
    expect(res.statusCode, res.body).toBe(303)
    const location = new URL(res.headers.location as string)
    expect(location.origin).toBe(as.issuer)
    return location.searchParams.get('redirect_uri')!
  } finally {
    await app.close()
  }
}

describe('the console sign-in redirect URI', () => {
  it('is built on AUDTRAIL_PUBLIC_URL: a forged Host header does not change it', async () => {
    const env = { AUDTRAIL_PUBLIC_URL: `${PUBLIC}/`, AUDTRAIL_HOST: '0.0.0.0' }
    expect(consoleOptions(config(env)).oidc?.baseUrl).toBe(PUBLIC)
    for (const host of ['evil.example', '127.0.0.1:8080', 'audtrail.example.com.evil.example'])
      expect(await redirectUriFor(env, host), host).toBe(`${PUBLIC}/auth/callback`)
  })

  it('without it, on loopback, follows a loopback Host and never another one', async () => {
    const env = { AUDTRAIL_HOST: '127.0.0.1' }
    expect(consoleOptions(config(env)).oidc?.baseUrl).toBeUndefined()
    expect(await redirectUriFor(env, '127.0.0.1:8080')).toBe('http://127.0.0.1:8080/auth/callback')
    expect(await redirectUriFor(env, 'localhost:8080')).toBe('http://localhost:8080/auth/callback')
    expect(await redirectUriFor(env, 'evil.example:8080')).toBe(
      'http://localhost:8080/auth/callback',
    )
    expect(await redirectUriFor(env, '127.0.0.1.evil.example')).toBe(
      'http://localhost/auth/callback',
    )
  })

  it('without it, off loopback, console sign-in is refused at start-up', () => {
    expect(() => consoleOptions(config({ AUDTRAIL_HOST: '0.0.0.0' }))).toThrow(ConfigError)
    expect(() => consoleOptions(config({ AUDTRAIL_HOST: '0.0.0.0' }))).toThrow(
      /AUDTRAIL_PUBLIC_URL/,
    )
  })
})
