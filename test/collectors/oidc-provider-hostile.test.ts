/**
 * Hostile requests against a real node-oidc-provider that allows resources by prefix and sets
 * `audience: resource` (as multi-tenant MCP hosts do): whatever a client writes, each request
 * leaves exactly one valid event with no raw token in it, and the collector counts it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter, type AudtrailEmitter } from '../../src/collectors/emitter/index.js'
import {
  attachOidcProvider,
  type OidcProviderCollector,
  type OidcProviderStats,
} from '../../src/collectors/oidc-provider.js'
import { createRuleEvaluator } from '../../src/detection/engine.js'
import { RULES } from '../../src/detection/rules/index.js'
import {
  fingerprintToken,
  parseEvent,
  type AuditEvent,
  type AuthorizationRequestedEvent,
  type TokenExchangedEvent,
  type TokenIssuedEvent,
} from '../../src/events/index.js'
import { RAW_JWT_REMOVED } from '../../src/events/raw-token.js'
import { toEventRow } from '../../src/events/event-row.js'
import { HOSTILE_JWT, HOSTILE_JWT_PARTS } from '../helpers/hostile.js'
import { captureLogs } from './fixtures.js'
import { pkce, TOKEN_EXCHANGE } from './oidc-fixture.js'

const JWT_PREFIX = 'https://t.example.com/'
const OPAQUE_PREFIX = 'https://o.example.com/'
const CLIENT = { id: 'tenant-agent', secret: 'tenant-agent-secret-0123456789abcdef' }
const BASIC = { id: 'basic-agent', secret: 'basic-agent-secret-0123456789abcdef' }
const REDIRECT = 'https://client.example/cb'
/** The JWT with every `e` percent-encoded: it shows only once decoded. */
const PERCENT_JWT = HOSTILE_JWT.replace(/e/g, '%65')

let server: Server
let issuer: string
let emitter: AudtrailEmitter
let collector: OidcProviderCollector
const events: AuditEvent[] = []
const logs = captureLogs('trace')
/** Every credential a client held or sent: none may appear in an event or a log line. */
const secrets = new Set<string>([CLIENT.secret, BASIC.secret])

beforeAll(async () => {
  const late = {} as { provider: Provider }
  server = createServer((req, res) => late.provider.callback()(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE],
        redirect_uris: [REDIRECT],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: BASIC.id,
        client_secret: BASIC.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'k1' }] },
    cookies: { keys: ['cookie-key-for-tests'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => resourceServer(resource),
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  })
  late.provider = provider
  provider.registerGrantType(TOKEN_EXCHANGE, exchange(provider), [
    'subject_token',
    'subject_token_type',
    'resource',
    'scope',
  ])
  emitter = createEmitter({ transport: { type: 'memory', events }, logger: logs.logger })
  collector = attachOidcProvider(provider, {
    emitter,
    logger: logs.logger,
    source: { id: 'as-hostile' },
  })
})

afterAll(async () => {
  await emitter.close()
  await new Promise((resolve) => server.close(resolve))
})

/** Resources allowed by prefix, each token's audience the resource itself. */
function resourceServer(resource: string): {
  scope: string
  audience: string
  accessTokenFormat: 'jwt' | 'opaque'
} {
  const format = resource.startsWith(JWT_PREFIX)
    ? 'jwt'
    : resource.startsWith(OPAQUE_PREFIX)
      ? 'opaque'
      : undefined
  if (format === undefined) throw new errors.InvalidTarget()
  return { scope: 'read write', audience: resource, accessTokenFormat: format }
}

/** RFC 8693 with any subject token: a token for `resource`, its audience the resource. */
function exchange(provider: Provider) {
  return async (ctx: KoaContextWithOIDC) => {
    const resource = String(ctx.oidc.params!.resource)
    const token = new provider.ClientCredentials({ client: ctx.oidc.client!, scope: 'read' })
    token.resourceServer = new provider.ResourceServer(resource, resourceServer(resource))
    ctx.oidc.entity('ClientCredentials', token)
    ctx.body = {
      access_token: await token.save(),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: token.scope,
    }
  }
}

/** Every character percent-encoded: the text shows only once decoded. */
function percentEncoded(text: string): string {
  return [...text].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('')
}

interface Sent {
  status: number
  body: Record<string, unknown>
  emitted: AuditEvent[]
  before: OidcProviderStats
}

/** One request; the events it produced, each checked valid and free of any secret. */
async function send(run: () => Promise<Response>): Promise<Sent> {
  await emitter.flush()
  const before = collector.stats()
  const from = events.length
  const res = await run()
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    // an HTML error page or a redirect
  }
  for (const key of ['access_token', 'refresh_token', 'id_token'])
    if (typeof body[key] === 'string') secrets.add(body[key] as string)
  await emitter.flush()
  const emitted = events.slice(from)
  for (const event of emitted) expectClean(event)
  return { status: res.status, body, emitted, before }
}

function expectClean(event: AuditEvent): void {
  expect(parseEvent(JSON.parse(JSON.stringify(event))).ok).toBe(true)
  const json = JSON.stringify(event)
  for (const part of HOSTILE_JWT_PARTS) expect(json).not.toContain(part)
  for (const secret of secrets) expect(json.includes(secret), 'a secret leaked').toBe(false)
}

function tokenPost(
  params: Record<string, string | string[]>,
  headers: Record<string, string> = {},
  client: { id: string; secret: string } | null = CLIENT,
): Promise<Response> {
  const form = new URLSearchParams(
    client === null ? {} : { client_id: client.id, client_secret: client.secret },
  )
  for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) form.append(k, one)
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form,
  })
}

function authorize(params: Record<string, string | string[]>, userAgent?: string) {
  const url = new URL(`${issuer}/auth`)
  for (const [k, v] of Object.entries(params))
    for (const one of [v].flat()) url.searchParams.append(k, one)
  return fetch(url, {
    redirect: 'manual',
    headers: userAgent === undefined ? {} : { 'user-agent': userAgent },
  })
}

function codeRequest(extra: Record<string, string | string[]> = {}) {
  return {
    client_id: CLIENT.id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...extra,
  }
}

function delta(sent: Sent): Partial<OidcProviderStats> {
  const now = collector.stats()
  const out: Partial<OidcProviderStats> = {}
  for (const key of Object.keys(now) as (keyof OidcProviderStats)[])
    if (now[key] !== sent.before[key]) out[key] = now[key] - sent.before[key]
  return out
}

describe('a JWT in the User-Agent', () => {
  it('keeps every client_credentials issuance, plain or percent-encoded', async () => {
    const agents = [
      `agent/1.0 ${HOSTILE_JWT}`,
      `agent/1.0 ${PERCENT_JWT}`,
      HOSTILE_JWT,
      `agent/1.0 (${HOSTILE_JWT.replace(/\./g, '%2E')})`,
    ]
    for (const userAgent of agents) {
      const sent = await send(() =>
        tokenPost(
          { grant_type: 'client_credentials', resource: `${JWT_PREFIX}mcp`, scope: 'read' },
          { 'user-agent': userAgent },
        ),
      )
      expect(sent.status).toBe(200)
      expect(sent.emitted).toHaveLength(1)
      const event = sent.emitted[0] as TokenIssuedEvent
      expect(event.event_type).toBe('token.issued')
      expect(event.network?.user_agent).toContain(RAW_JWT_REMOVED)
      expect(event.attributes?.sanitized).toEqual(['user_agent'])
      expect(event.token.fingerprint).toBe(fingerprintToken(sent.body.access_token as string))
      expect(delta(sent)).toEqual({ tokens: 1 })
    }
  })

  it('keeps the authorization request', async () => {
    const sent = await send(() => authorize(codeRequest(), `agent/1.0 ${PERCENT_JWT}`))
    expect(sent.status).toBe(303)
    expect(sent.emitted).toHaveLength(1)
    expect(sent.emitted[0]).toMatchObject({
      event_type: 'authorization.requested',
      client_id: CLIENT.id,
      // Seen only once decoded: where it was in the text is not kept.
      network: { user_agent: RAW_JWT_REMOVED },
      attributes: { outcome: 'interaction_required', sanitized: ['user_agent'] },
    })
    expect(delta(sent)).toEqual({ authorizations: 1 })
  })
})

describe('a client-chosen resource the AS takes as the audience', () => {
  it.each([
    ['a JWT in the path', `${JWT_PREFIX}${HOSTILE_JWT}`, `${JWT_PREFIX}${RAW_JWT_REMOVED}`],
    ['a percent-encoded JWT', `${JWT_PREFIX}${PERCENT_JWT}`, RAW_JWT_REMOVED],
    [
      'over 2 048 characters',
      `${JWT_PREFIX}${'a'.repeat(3_000)}`,
      expect.stringMatching(/^https:\/\/t\.example\.com\/a+\.\.\.[\w-]{16}$/),
    ],
  ])(
    'keeps the issuance with %s in requested, granted and token aud',
    async (_, resource, cleaned) => {
      const sent = await send(() =>
        tokenPost({ grant_type: 'client_credentials', resource, scope: 'read' }),
      )
      expect(sent.status).toBe(200)
      expect(sent.emitted).toHaveLength(1)
      const event = sent.emitted[0] as TokenIssuedEvent
      expect(event.requested_resources).toEqual([cleaned])
      expect(event.granted_aud).toEqual([cleaned])
      expect(event.token.aud).toEqual([cleaned])
      expect(event.granted_aud[0]!.length).toBeLessThanOrEqual(2_048)
      expect(event.attributes?.sanitized).toEqual([
        'granted_aud',
        'requested_resources',
        'token.aud',
      ])
      expect(delta(sent)).toEqual({ tokens: 1 })
    },
  )

  it('keeps an opaque issuance whose entity carries the hostile audience', async () => {
    const sent = await send(() =>
      tokenPost({
        grant_type: 'client_credentials',
        resource: `${OPAQUE_PREFIX}${HOSTILE_JWT}`,
        scope: 'read',
      }),
    )
    const event = sent.emitted[0] as TokenIssuedEvent
    expect(sent.emitted).toHaveLength(1)
    expect(event.token.format).toBe('opaque')
    expect(event.granted_aud).toEqual([`${OPAQUE_PREFIX}${RAW_JWT_REMOVED}`])
    expect(event.token.aud).toEqual([`${OPAQUE_PREFIX}${RAW_JWT_REMOVED}`])
  })

  it('keeps a request with a JWT in its scope', async () => {
    const sent = await send(() =>
      tokenPost({
        grant_type: 'client_credentials',
        resource: `${JWT_PREFIX}mcp`,
        scope: `read ${HOSTILE_JWT}`,
      }),
    )
    expect(sent.emitted).toHaveLength(1)
    expect((sent.emitted[0] as TokenIssuedEvent).requested_scopes).toEqual([
      'read',
      RAW_JWT_REMOVED,
    ])
  })

  it('keeps the authorization request that names such resources', async () => {
    const sent = await send(() =>
      authorize(
        codeRequest({
          resource: [`${JWT_PREFIX}${HOSTILE_JWT}`, `${JWT_PREFIX}${'b'.repeat(3_000)}`],
        }),
      ),
    )
    expect(sent.emitted).toHaveLength(1)
    const event = sent.emitted[0] as AuthorizationRequestedEvent
    expect(event.requested_resources[0]).toBe(`${JWT_PREFIX}${RAW_JWT_REMOVED}`)
    expect(event.requested_resources[1]).toHaveLength(2_048)
  })
})

describe('token exchange', () => {
  it('cuts a subject token the client copies into the resource, the audience and the user agent', async () => {
    const subject = await send(() =>
      tokenPost({ grant_type: 'client_credentials', resource: `${OPAQUE_PREFIX}s`, scope: 'read' }),
    )
    const subjectToken = subject.body.access_token as string
    expect(subjectToken.split('.')).toHaveLength(1)
    const sent = await send(() =>
      tokenPost(
        {
          grant_type: TOKEN_EXCHANGE,
          subject_token: subjectToken,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: `${JWT_PREFIX}?st=${subjectToken}`,
        },
        { 'user-agent': `agent ${percentEncoded(subjectToken)}` },
      ),
    )
    expect(sent.status).toBe(200)
    expect(sent.emitted).toHaveLength(1)
    const event = sent.emitted[0] as TokenExchangedEvent
    expect(event.event_type).toBe('token.exchanged')
    expect(event.subject_token.fingerprint).toBe(fingerprintToken(subjectToken))
    expect(event.requested_resources).toEqual([`${JWT_PREFIX}?st=${RAW_JWT_REMOVED}`])
    expect(event.granted_aud).toEqual([`${JWT_PREFIX}?st=${RAW_JWT_REMOVED}`])
    expect(event.network?.user_agent).toBe(RAW_JWT_REMOVED)
    expect(JSON.stringify(event)).not.toContain(subjectToken)
    expect(delta(sent)).toEqual({ exchanges: 1 })
  })

  it('records a refused exchange as sent: a value it copies is only its word, never a secret', async () => {
    const subjectToken = 'opaque-subject-token-that-is-not-ours-0123456789'
    const sent = await send(() =>
      tokenPost({
        grant_type: TOKEN_EXCHANGE,
        subject_token: subjectToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: `https://elsewhere.example/${subjectToken}`,
      }),
    )
    expect(sent.status).toBe(400)
    expect(sent.emitted).toHaveLength(1)
    expect(sent.emitted[0]).toMatchObject({
      event_type: 'authorization.requested',
      requested_resources: [`https://elsewhere.example/${subjectToken}`],
      attributes: { endpoint: 'token', error: 'invalid_target', grant_type: TOKEN_EXCHANGE },
    })
  })
})

describe('parameters a grant does not use are never taken for secrets', () => {
  it('keeps the client id and resources of an issuance whatever unused credentials it names', async () => {
    const resource = `${JWT_PREFIX}payroll-ledger`
    const cases: Record<string, string>[] = [
      { assertion: CLIENT.id, code_verifier: resource },
      { device_code: 'https://t.example.com', refresh_token: CLIENT.id },
      { subject_token: resource, auth_req_id: 'tenant-agent-tenant-agent' },
    ]
    for (const extra of cases) {
      const sent = await send(() =>
        tokenPost({ grant_type: 'client_credentials', resource, ...extra }),
      )
      expect(sent.status).toBe(200)
      expect(sent.emitted).toHaveLength(1)
      const event = sent.emitted[0] as TokenIssuedEvent
      expect(event.client_id).toBe(CLIENT.id)
      expect(event.requested_resources).toEqual([resource])
      expect(event.granted_aud).toEqual([resource])
      expect(JSON.stringify(event)).not.toContain(RAW_JWT_REMOVED)
    }
  })

  it('on a refused grant, nothing the client sent erases any part of its event', async () => {
    const resource = `${JWT_PREFIX}payroll-admin-reports`
    const probes: [Record<string, string>, { id: string; secret: string }, string][] = [
      [{ grant_type: 'refresh_token', refresh_token: resource }, CLIENT, 'invalid_grant'],
      [
        { grant_type: 'authorization_code', code: '//t.example.com/payroll-admin-reports' },
        CLIENT,
        'invalid_grant',
      ],
      [
        { grant_type: 'client_credentials' },
        { id: CLIENT.id, secret: '//t.example.com/payroll-admin' },
        'invalid_client',
      ],
      [
        { grant_type: 'client_credentials' },
        { id: CLIENT.id, secret: 'client_credentials' },
        'invalid_client',
      ],
      [
        { grant_type: 'client_credentials' },
        { id: CLIENT.id, secret: 'payroll-admin-reports' },
        'invalid_client',
      ],
    ]
    for (const [params, client, error] of probes) {
      const sent = await send(() => tokenPost({ ...params, resource, scope: 'read' }, {}, client))
      expect(sent.emitted, JSON.stringify(params)).toHaveLength(1)
      expect(sent.emitted[0]).toMatchObject({
        client_id: CLIENT.id,
        requested_resources: [resource],
        requested_scopes: ['read'],
        attributes: { endpoint: 'token', error, grant_type: params.grant_type },
      })
      expect(JSON.stringify(sent.emitted[0])).not.toContain(RAW_JWT_REMOVED)
    }
  })
})

describe('failed grants at the token endpoint', () => {
  const cases: {
    name: string
    run: () => Promise<Response>
    status: number
    client?: string
    attributes: Record<string, unknown>
    resources?: string[]
  }[] = [
    {
      name: 'invalid_client: a wrong secret',
      run: () =>
        tokenPost(
          { grant_type: 'client_credentials', resource: `${JWT_PREFIX}probe-1` },
          {},
          { id: CLIENT.id, secret: 'wrong-secret-0123456789' },
        ),
      status: 401,
      client: CLIENT.id,
      attributes: { error: 'invalid_client', client_authenticated: false },
      resources: [`${JWT_PREFIX}probe-1`],
    },
    {
      name: 'invalid_client: an unknown client',
      run: () =>
        tokenPost(
          { grant_type: 'client_credentials', resource: `${JWT_PREFIX}probe-2` },
          {},
          { id: 'nobody', secret: 'nobody-secret-0123456789' },
        ),
      status: 401,
      client: 'nobody',
      attributes: { error: 'invalid_client', client_authenticated: false },
      resources: [`${JWT_PREFIX}probe-2`],
    },
    {
      name: 'invalid_client: a wrong Basic secret',
      run: () =>
        tokenPost(
          { grant_type: 'client_credentials', resource: `${JWT_PREFIX}probe-3` },
          {
            authorization: `Basic ${Buffer.from(`${BASIC.id}:basic-wrong-secret-0123`).toString('base64')}`,
          },
          null,
        ),
      status: 401,
      client: BASIC.id,
      attributes: { error: 'invalid_client', client_authenticated: false },
      resources: [`${JWT_PREFIX}probe-3`],
    },
    {
      name: 'invalid_grant: a refresh token that does not exist',
      run: () =>
        tokenPost({ grant_type: 'refresh_token', refresh_token: 'bogus-refresh-token-0123456789' }),
      status: 400,
      client: CLIENT.id,
      attributes: { error: 'invalid_grant', client_authenticated: true },
      resources: [],
    },
    {
      name: 'invalid_grant: a code that does not exist',
      run: () =>
        tokenPost({
          grant_type: 'authorization_code',
          code: 'bogus-code-0123456789',
          redirect_uri: REDIRECT,
          code_verifier: pkce().verifier,
          resource: `${JWT_PREFIX}probe-4`,
        }),
      status: 400,
      client: CLIENT.id,
      attributes: { error: 'invalid_grant', client_authenticated: true },
      resources: [`${JWT_PREFIX}probe-4`],
    },
    {
      name: 'invalid_target: an audience the AS does not serve',
      run: () =>
        tokenPost({ grant_type: 'client_credentials', resource: 'https://probe.example/api' }),
      status: 400,
      client: CLIENT.id,
      attributes: { error: 'invalid_target', client_authenticated: true },
      resources: ['https://probe.example/api'],
    },
    {
      name: 'invalid_target: a JWT where a resource belongs',
      run: () => tokenPost({ grant_type: 'client_credentials', resource: HOSTILE_JWT }),
      status: 400,
      client: CLIENT.id,
      attributes: { error: 'invalid_target', client_authenticated: true },
      resources: [RAW_JWT_REMOVED],
    },
    {
      name: 'unsupported_grant_type',
      run: () => tokenPost({ grant_type: `urn:x:${HOSTILE_JWT}` }),
      status: 400,
      client: CLIENT.id,
      attributes: { error: 'unsupported_grant_type', grant_type: `urn:x:${RAW_JWT_REMOVED}` },
      resources: [],
    },
    {
      name: 'invalid_request: no client authentication at all',
      run: () => tokenPost({ grant_type: 'client_credentials' }, {}, null),
      status: 400,
      attributes: { error: 'invalid_request', client_authenticated: false },
      resources: [],
    },
  ]

  it.each(cases)('records $name once, as a rejected request', async (c) => {
    const sent = await send(c.run)
    expect(sent.status).toBe(c.status)
    expect(sent.emitted).toHaveLength(1)
    const event = sent.emitted[0] as AuthorizationRequestedEvent
    expect(event.event_type).toBe('authorization.requested')
    expect(event.client_id).toBe(c.client)
    expect(event.requested_resources).toEqual(c.resources)
    expect(event.network?.ip).toBe('127.0.0.1')
    expect(event.attributes).toMatchObject({
      endpoint: 'token',
      outcome: 'rejected',
      status: c.status,
      ...c.attributes,
    })
    expect(delta(sent)).toEqual({ failedGrants: 1, rejected: 1 })
  })
})

describe('the authorization endpoint', () => {
  it('records a bogus request_uri once, refused', async () => {
    const sent = await send(() =>
      authorize({
        client_id: CLIENT.id,
        request_uri: 'urn:ietf:params:oauth:request_uri:bogus-0123456789',
      }),
    )
    expect(sent.emitted).toHaveLength(1)
    expect(sent.emitted[0]).toMatchObject({
      event_type: 'authorization.requested',
      client_id: CLIENT.id,
      attributes: {
        endpoint: 'authorization',
        outcome: 'rejected',
        error: 'invalid_request_uri',
        request_uri: true,
      },
    })
    expect(delta(sent)).toEqual({ authorizations: 1, rejected: 1 })
  })

  it('records a request whose request_uri is empty (the provider ignores it) or not a pushed one', async () => {
    for (const requestUri of ['', 'https://client.example/request-object']) {
      const sent = await send(() =>
        authorize(codeRequest({ request_uri: requestUri, resource: `${JWT_PREFIX}hidden` })),
      )
      expect(sent.emitted, JSON.stringify(requestUri)).toHaveLength(1)
      expect(sent.emitted[0]).toMatchObject({ event_type: 'authorization.requested' })
    }
  })

  it('records an unknown client once, with the client id it claimed', async () => {
    const sent = await send(() =>
      authorize(codeRequest({ client_id: `nobody\u0007`, resource: `${JWT_PREFIX}probe-5` })),
    )
    expect(sent.emitted).toHaveLength(1)
    expect(sent.emitted[0]).toMatchObject({
      client_id: 'nobody\ufffd',
      requested_resources: [`${JWT_PREFIX}probe-5`],
      attributes: {
        outcome: 'rejected',
        error: 'invalid_client',
        client_known: false,
        sanitized: ['client_id'],
      },
    })
    expect(delta(sent)).toEqual({ authorizations: 1, rejected: 1 })
  })

  it('records a refused pushed request with a wrong secret, and none at its (missing) use', async () => {
    const sent = await send(() =>
      fetch(`${issuer}/request`, {
        method: 'POST',
        body: new URLSearchParams({
          ...codeRequest({ resource: `${JWT_PREFIX}probe-6` }),
          client_secret: 'wrong-par-secret-0123456789',
        }),
      }),
    )
    expect(sent.status).toBe(401)
    expect(sent.emitted).toHaveLength(1)
    expect(sent.emitted[0]).toMatchObject({
      requested_resources: [`${JWT_PREFIX}probe-6`],
      attributes: {
        endpoint: 'pushed_authorization_request',
        outcome: 'rejected',
        error: 'invalid_client',
        client_authenticated: false,
      },
    })
    expect(JSON.stringify(sent.emitted[0])).not.toContain('wrong-par-secret-0123456789')
  })
})

describe('detection on refused requests', () => {
  it('shows audience probing, and fires no rule that a token or a granted audience would', async () => {
    const probes = ['https://a.internal/', 'https://b.internal/', 'https://c.internal/']
    const refused: AuditEvent[] = []
    for (const resource of probes)
      refused.push(
        ...(await send(() => tokenPost({ grant_type: 'client_credentials', resource }))).emitted,
      )
    // The probe is visible: one refused request per audience tried, by the same client.
    expect(refused.map((e) => (e as AuthorizationRequestedEvent).requested_resources)).toEqual(
      probes.map((p) => [p]),
    )
    expect(new Set(refused.map((e) => e.client_id))).toEqual(new Set([CLIENT.id]))
    const rows = refused.map((e) => toEventRow(e, { receivedAt: Date.now() }))
    // Each names its resource, so missing-resource-indicator stays quiet; no token, no aud.
    expect(createRuleEvaluator(RULES).evaluate(rows)).toEqual([])
    // Without a resource, a refused request is judged as any request without one would be.
    const bare = await send(() =>
      tokenPost({ grant_type: 'refresh_token', refresh_token: 'bogus-refresh-token-9876543210' }),
    )
    const found = createRuleEvaluator(RULES).evaluate(
      bare.emitted.map((e) => toEventRow(e, { receivedAt: Date.now() })),
    )
    expect(found.map(([id]) => id)).toEqual(['missing-resource-indicator'])
  })
})

describe('secrecy and counts', () => {
  it('lets no credential appear in any event or log line, and counts nothing as an error', async () => {
    await emitter.flush()
    expect(events.length).toBeGreaterThan(20)
    const haystacks = [...events.map((e) => JSON.stringify(e)), ...logs.lines]
    for (const secret of [...secrets, ...HOSTILE_JWT_PARTS])
      for (const text of haystacks) expect(text.includes(secret), 'a secret leaked').toBe(false)
    const stats = collector.stats()
    expect(stats.errors).toBe(0)
    expect(stats.authorizations + stats.tokens + stats.exchanges + stats.failedGrants).toBe(
      events.length,
    )
    expect(emitter.stats()).toMatchObject({ dropped: 0, rejected: 0, reduced: 0 })
  })
})

describe('when the provider context cannot be read or the handler throws', () => {
  /** A provider stand-in that hands over its middleware, for contexts no real request makes. */
  function standIn() {
    const own: AuditEvent[] = []
    const lines = captureLogs('trace')
    let middleware!: (ctx: unknown, next: () => Promise<unknown>) => Promise<unknown>
    const attachedTo = attachOidcProvider(
      {
        issuer: 'https://as.example',
        use: (fn) => (middleware = fn),
        on: () => undefined,
      },
      { emitter: { emit: (e) => void own.push(e as AuditEvent) }, logger: lines.logger },
    )
    return { own, lines, collector: attachedTo, run: middleware }
  }

  it('emits a token event reduced to the provider facts when the entities cannot be read', async () => {
    const { own, lines, collector: c, run } = standIn()
    const accessToken = 'opaque-access-token-from-a-broken-context-0123'
    await run(
      {
        method: 'POST',
        status: 200,
        body: { access_token: accessToken },
        get: () => `agent ${HOSTILE_JWT}`,
        oidc: {
          route: 'token',
          body: { grant_type: 'client_credentials' },
          get entities() {
            throw new Error(`entity store failed on ${HOSTILE_JWT}`)
          },
        },
      },
      async () => undefined,
    )
    expect(own).toHaveLength(1)
    const event = own[0] as TokenIssuedEvent
    expect(parseEvent(event).ok).toBe(true)
    expect(event.token.fingerprint).toBe(fingerprintToken(accessToken))
    expect(event.grant_type).toBe('unknown')
    expect(event.attributes?.reduced).toEqual(
      expect.arrayContaining(['client_id', 'requested_resources', 'granted_aud']),
    )
    expect(c.stats()).toMatchObject({ tokens: 1, reduced: 1, errors: 0 })
    for (const text of [...lines.lines, JSON.stringify(event)]) {
      expect(text).not.toContain(accessToken)
      for (const part of HOSTILE_JWT_PARTS) expect(text).not.toContain(part)
    }
  })

  it('records a token request whose handler threw, and lets the error through', async () => {
    const { own, collector: c, run } = standIn()
    const failure = Object.assign(new Error('adapter down'), { statusCode: 503 })
    await expect(
      run(
        {
          method: 'POST',
          status: 404,
          body: undefined,
          get: () => undefined,
          ip: '10.0.0.9',
          oidc: {
            route: 'token',
            body: { grant_type: 'refresh_token', resource: `${JWT_PREFIX}${HOSTILE_JWT}` },
          },
        },
        () => Promise.reject(failure),
      ),
    ).rejects.toBe(failure)
    expect(own).toHaveLength(1)
    expect(own[0]).toMatchObject({
      event_type: 'authorization.requested',
      requested_resources: [`${JWT_PREFIX}${RAW_JWT_REMOVED}`],
      network: { ip: '10.0.0.9' },
      attributes: { endpoint: 'token', outcome: 'rejected', error: 'server_error', status: 503 },
    })
    expect(c.stats()).toMatchObject({ failedGrants: 1, rejected: 1, errors: 0 })
  })
})
