import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter, type AudtrailEmitter } from '../../src/collectors/emitter/index.js'
import {
  attachOidcProvider,
  type OidcProviderCollector,
} from '../../src/collectors/oidc-provider.js'
import {
  fingerprintToken,
  type AuditEvent,
  type AuthorizationRequestedEvent,
  type TokenExchangedEvent,
  type TokenIssuedEvent,
} from '../../src/events/index.js'
import { captureLogs } from './fixtures.js'
import {
  ACCOUNT,
  API_B,
  Browser,
  CLIENT,
  MCP_A,
  OPAQUE_C,
  pkce,
  startProvider,
  TOKEN_EXCHANGE,
  tokenRequest,
  type OidcServer,
} from './oidc-fixture.js'

let oidc: OidcServer
let emitter: AudtrailEmitter
let collector: OidcProviderCollector
const events: AuditEvent[] = []
const logs = captureLogs('trace')
// Every credential the client saw: none of them may appear in an event or a log line.
const secrets = new Set<string>([CLIENT.secret])

beforeAll(async () => {
  oidc = await startProvider()
  emitter = createEmitter({ transport: { type: 'memory', events }, logger: logs.logger })
  collector = attachOidcProvider(oidc.provider, {
    emitter,
    logger: logs.logger,
    source: { id: 'as-test' },
  })
})

afterAll(async () => {
  await emitter.close()
  await oidc.close()
})

/** Runs `action`, then returns the events it produced. */
async function during(action: () => Promise<unknown>): Promise<AuditEvent[]> {
  await emitter.flush()
  const before = events.length
  await action()
  await emitter.flush()
  return events.slice(before)
}

async function token(params: Record<string, string | string[]>) {
  const res = await tokenRequest(oidc.issuer, params)
  for (const key of ['access_token', 'refresh_token', 'id_token'])
    if (typeof res.body[key] === 'string') secrets.add(res.body[key] as string)
  return res
}

function authorizeUrl(extra: Record<string, string | string[]>): string {
  const url = new URL(`${oidc.issuer}/auth`)
  const params: Record<string, string | string[]> = {
    client_id: CLIENT.id,
    response_type: 'code',
    redirect_uri: CLIENT.redirect,
    state: 'state-1',
    ...extra,
  }
  for (const [k, v] of Object.entries(params))
    for (const one of [v].flat()) url.searchParams.append(k, one)
  return url.href
}

describe('client_credentials', () => {
  it('emits token.issued for a JWT resource with raw requested resource, granted aud, scopes, jti, iat, exp and the fingerprint of the issued token', async () => {
    let res!: Awaited<ReturnType<typeof token>>
    const emitted = await during(async () => {
      res = await token({
        grant_type: 'client_credentials',
        resource: MCP_A,
        scope: 'tools:read write',
      })
    })
    expect(res.status).toBe(200)
    const accessToken = res.body.access_token as string
    const claims = decodeJwt(accessToken)
    expect(emitted).toHaveLength(1)
    const event = emitted[0] as TokenIssuedEvent
    expect(event.event_type).toBe('token.issued')
    expect(event.schema_version).toBe(1)
    expect(event.tenant).toBe('default')
    expect(event.source).toEqual({ kind: 'authorization_server', id: 'as-test' })
    expect(event.issuer).toBe(oidc.issuer)
    expect(event.client_id).toBe(CLIENT.id)
    expect(event.subject).toBe(CLIENT.id)
    expect(event.grant_type).toBe('client_credentials')
    expect(event.requested_resources).toEqual([MCP_A])
    expect(event.granted_aud).toEqual([MCP_A])
    expect(event.requested_scopes).toEqual(['tools:read', 'write'])
    expect(event.granted_scopes).toEqual(['tools:read'])
    expect(event.token).toEqual({
      format: 'jwt',
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
      aud: [MCP_A],
      scopes: ['tools:read'],
      fingerprint: fingerprintToken(accessToken),
    })
    expect(event.network?.ip).toBe('127.0.0.1')
    expect(event.attributes).toMatchObject({
      requested_scopes_source: 'request',
      token_type: 'Bearer',
    })
  })

  it('emits a fingerprint and no jti for an opaque token, whose jti is the token itself', async () => {
    let res!: Awaited<ReturnType<typeof token>>
    const emitted = await during(async () => {
      res = await token({ grant_type: 'client_credentials', resource: OPAQUE_C, scope: 'read' })
    })
    const accessToken = res.body.access_token as string
    expect(accessToken.split('.')).toHaveLength(1)
    const event = emitted[0] as TokenIssuedEvent
    expect(event.token).toEqual({
      format: 'opaque',
      fingerprint: fingerprintToken(accessToken),
      iat: event.token.iat,
      exp: event.token.iat! + (res.body.expires_in as number),
      aud: [OPAQUE_C],
      scopes: ['read'],
    })
    expect(event.token.jti).toBeUndefined()
    expect(event.granted_aud).toEqual([OPAQUE_C])
    expect(event.granted_scopes).toEqual(['read'])
  })

  it('records a refused token request as authorization.requested at the token endpoint, with the OAuth error', async () => {
    let status = 0
    const before = collector.stats()
    const emitted = await during(async () => {
      status = (
        await token({
          grant_type: 'client_credentials',
          resource: 'https://unknown.example',
          scope: 'read',
        })
      ).status
    })
    expect(status).toBe(400)
    expect(emitted).toHaveLength(1)
    const event = emitted[0] as AuthorizationRequestedEvent
    expect(event.event_type).toBe('authorization.requested')
    expect(event.client_id).toBe(CLIENT.id)
    expect(event.requested_resources).toEqual(['https://unknown.example'])
    expect(event.requested_scopes).toEqual(['read'])
    expect(event.token).toBeUndefined()
    expect(event.network?.ip).toBe('127.0.0.1')
    expect(event.attributes).toEqual({
      endpoint: 'token',
      outcome: 'rejected',
      error: 'invalid_target',
      error_description: 'resource indicator is missing, or unknown',
      status: 400,
      grant_type: 'client_credentials',
      client_authenticated: true,
    })
    expect(collector.stats()).toMatchObject({
      failedGrants: before.failedGrants + 1,
      rejected: before.rejected + 1,
      tokens: before.tokens,
    })
  })
})

describe('authorization_code and refresh_token', () => {
  let authorization: AuthorizationRequestedEvent
  let codeExchange: TokenIssuedEvent
  let refresh: TokenIssuedEvent
  const got: Record<string, Record<string, unknown>> = {}

  beforeAll(async () => {
    const browser = new Browser()
    const { verifier, challenge } = pkce()
    const flow = await during(async () => {
      const res = await browser.get(
        authorizeUrl({
          scope: 'openid tools:call read',
          resource: [MCP_A, API_B],
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      )
      expect(res.status).toBe(303)
      let location = new URL(res.headers.get('location')!, oidc.issuer).href
      while (!location.startsWith(CLIENT.redirect)) {
        const next = await browser.get(location)
        location = new URL(next.headers.get('location')!, oidc.issuer).href
      }
      const code = new URL(location).searchParams.get('code')!
      secrets.add(code)
      got.code = (
        await token({
          grant_type: 'authorization_code',
          code,
          redirect_uri: CLIENT.redirect,
          code_verifier: verifier,
          resource: MCP_A,
        })
      ).body
    })
    // One authorization request (the resume after the interaction is not a new request).
    expect(flow.map((e) => e.event_type)).toEqual(['authorization.requested', 'token.issued'])
    authorization = flow[0] as AuthorizationRequestedEvent
    codeExchange = flow[1] as TokenIssuedEvent
    ;[refresh] = (await during(async () => {
      got.refresh = (
        await token({
          grant_type: 'refresh_token',
          refresh_token: got.code!.refresh_token as string,
          resource: API_B,
        })
      ).body
    })) as TokenIssuedEvent[]
  })

  it('records the authorization request with its repeated resource parameters and scopes, as received', () => {
    expect(authorization.event_type).toBe('authorization.requested')
    expect(authorization.client_id).toBe(CLIENT.id)
    expect(authorization.requested_resources).toEqual([MCP_A, API_B])
    expect(authorization.requested_scopes).toEqual(['openid', 'tools:call', 'read'])
    expect(authorization.token).toBeUndefined()
    expect(authorization.attributes).toMatchObject({
      endpoint: 'authorization',
      outcome: 'interaction_required',
    })
  })

  it('records the code exchange with the granted aud, the JWT claims and the resources of the grant', () => {
    const accessToken = got.code!.access_token as string
    const claims = decodeJwt(accessToken)
    expect(codeExchange.grant_type).toBe('authorization_code')
    expect(codeExchange.subject).toBe(ACCOUNT)
    expect(codeExchange.requested_resources).toEqual([MCP_A])
    expect(codeExchange.granted_aud).toEqual([MCP_A])
    expect(codeExchange.requested_scopes).toEqual(['openid', 'tools:call', 'read'])
    expect(codeExchange.granted_scopes).toEqual(['tools:call'])
    expect(codeExchange.token.jti).toBe(claims.jti)
    expect(codeExchange.token.fingerprint).toBe(fingerprintToken(accessToken))
    expect(codeExchange.attributes).toMatchObject({
      grant_resources: [MCP_A, API_B],
      resource_within_grant: true,
      requested_scopes_source: 'grant',
    })
    expect(codeExchange.attributes?.resource_switch).toBeUndefined()
  })

  it('marks a refresh that switches resource within the original grant (RFC 8707 section 2.2)', () => {
    const accessToken = got.refresh!.access_token as string
    expect(decodeJwt(accessToken).aud).toBe(API_B)
    expect(refresh.grant_type).toBe('refresh_token')
    expect(refresh.requested_resources).toEqual([API_B])
    expect(refresh.granted_aud).toEqual([API_B])
    expect(refresh.granted_scopes).toEqual(['read'])
    expect(refresh.token.fingerprint).toBe(fingerprintToken(accessToken))
    expect(refresh.token.jti).toBe(decodeJwt(accessToken).jti)
    expect(refresh.attributes).toMatchObject({
      grant_resources: [MCP_A, API_B],
      resource_within_grant: true,
      previous_aud: [MCP_A],
      resource_switch: true,
      grant_id: codeExchange.attributes?.grant_id,
    })
  })
})

describe('the authorization endpoint', () => {
  it('records a request without resource as an empty list', async () => {
    const [event] = (await during(() =>
      new Browser().get(
        authorizeUrl({
          scope: 'openid',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      ),
    )) as AuthorizationRequestedEvent[]
    expect(event!.requested_resources).toEqual([])
    expect(event!.requested_scopes).toEqual(['openid'])
  })

  it('records a request the provider refuses with invalid_target, with the resource as received', async () => {
    const odd = 'HTTPS://Unknown.example:443/a/../b/'
    const [event] = (await during(() =>
      new Browser().get(
        authorizeUrl({
          scope: 'openid',
          resource: odd,
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      ),
    )) as AuthorizationRequestedEvent[]
    expect(event!.requested_resources).toEqual([odd])
    expect(event!.attributes).toMatchObject({ outcome: 'rejected', error: 'invalid_target' })
  })

  it('records a pushed authorization request once, at the PAR endpoint', async () => {
    const emitted = await during(async () => {
      const form = new URLSearchParams({
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        response_type: 'code',
        redirect_uri: CLIENT.redirect,
        scope: 'openid read',
        resource: API_B,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      })
      const res = await fetch(`${oidc.issuer}/request`, { method: 'POST', body: form })
      expect(res.status).toBe(201)
      const { request_uri } = (await res.json()) as { request_uri: string }
      await new Browser().get(authorizeUrl({ request_uri }))
    })
    expect(emitted).toHaveLength(1)
    expect(emitted[0]).toMatchObject({
      event_type: 'authorization.requested',
      requested_resources: [API_B],
      requested_scopes: ['openid', 'read'],
      attributes: { endpoint: 'pushed_authorization_request', outcome: 'pushed' },
    })
  })
})

describe('token exchange (RFC 8693) as a custom grant', () => {
  it('emits token.exchanged with the subject token as a fingerprint and jti reference', async () => {
    const subject = (
      await token({ grant_type: 'client_credentials', resource: MCP_A, scope: 'tools:read' })
    ).body.access_token as string
    let res!: Awaited<ReturnType<typeof token>>
    const emitted = await during(async () => {
      res = await token({
        grant_type: TOKEN_EXCHANGE,
        subject_token: subject,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: API_B,
      })
    })
    expect(res.status).toBe(200)
    const event = emitted[0] as TokenExchangedEvent
    expect(event.event_type).toBe('token.exchanged')
    expect(event.subject_token).toEqual({
      fingerprint: fingerprintToken(subject),
      jti: decodeJwt(subject).jti,
    })
    expect(event.requested_resources).toEqual([API_B])
    expect(event.granted_aud).toEqual([API_B])
    expect(event.token.fingerprint).toBe(fingerprintToken(res.body.access_token as string))
  })
})

describe('robustness', () => {
  it('uses the HMAC fingerprint key when one is configured', async () => {
    const own: AuditEvent[] = []
    const keyed = attachOidcProvider(oidc.provider, {
      emitter: { emit: (e) => void own.push(e as AuditEvent) },
      fingerprintKey: 'shared-fingerprint-key',
    })
    const res = await token({ grant_type: 'client_credentials', resource: API_B, scope: 'read' })
    keyed.detach()
    const accessToken = res.body.access_token as string
    expect(own[0]!.token?.fingerprint).toBe(fingerprintToken(accessToken, 'shared-fingerprint-key'))
    expect(own[0]!.source.id).toBe(oidc.issuer)
  })

  it('never throws into the provider: an emitter that throws is counted as a collector error', async () => {
    const broken = attachOidcProvider(oidc.provider, {
      emitter: {
        emit() {
          throw new Error('emitter exploded')
        },
      },
    })
    const res = await token({ grant_type: 'client_credentials', resource: API_B, scope: 'read' })
    broken.detach()
    expect(res.status).toBe(200)
    expect(broken.stats().errors).toBe(1)
    expect(collector.stats().errors).toBe(0)
  })

  it('rejects a provider or options it cannot work with, at attach time', () => {
    expect(() => attachOidcProvider({} as never, { emitter: { emit() {} } })).toThrow(TypeError)
    expect(() => attachOidcProvider(oidc.provider, {} as never)).toThrow(
      'attachOidcProvider: options.emitter is required',
    )
  })
})

describe('secrecy', () => {
  it('lets no raw token, code or client secret appear in any emitted event or log line', async () => {
    await emitter.flush()
    expect(events.length).toBeGreaterThan(8)
    expect(secrets.size).toBeGreaterThan(8)
    const haystacks = [...events.map((e) => JSON.stringify(e)), ...logs.lines]
    for (const secret of secrets)
      for (const text of haystacks) expect(text.includes(secret), 'a secret leaked').toBe(false)
    expect(collector.stats()).toMatchObject({ errors: 0 })
    expect(emitter.stats()).toMatchObject({ dropped: 0, rejected: 0 })
  })
})
