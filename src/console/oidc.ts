/**
 * Console sign-in: OpenID Connect authorization code flow with PKCE (RFC 7636, S256) and `state`
 * against the API's issuer (discovery: OpenID Connect Discovery 1.0 / RFC 8414), through
 * openid-client. The access token is requested for the API's audience (RFC 8707 `resource`) and
 * checked by the API's own authenticator before a session is made: a token the API would refuse
 * never becomes a session. Tokens stay server-side (session.ts). openid-client is loaded on the
 * first sign-in only: a process without console sign-in never needs it.
 */
import type * as OpenIdClient from 'openid-client'
import type { Authenticate, Caller } from './caller.js'

export interface OidcSettings {
  /** AUDTRAIL_API_ISSUER: the issuer the API trusts. */
  issuer: string
  /** AUDTRAIL_CONSOLE_CLIENT_ID */
  clientId: string
  /** AUDTRAIL_CONSOLE_CLIENT_SECRET; unset: a public client (PKCE only). */
  clientSecret?: string
  /** AUDTRAIL_API_AUDIENCE: the `resource` the access token is requested for. */
  audience: string
  /**
   * The console's public base URL (scheme, host, port) the redirect URI is built on; absent: the
   * scheme and Host of the sign-in request (the identity provider accepts only registered ones).
   */
  baseUrl?: string
  /** Scopes asked for (default `openid`). */
  scope?: string
}

export interface SignedIn {
  accessToken: string
  caller: Caller
  /** ms since the epoch: when the access token expires. */
  expiresAt: number
}

let loaded: Promise<typeof OpenIdClient> | undefined
const openIdClient = () => (loaded ??= import('openid-client'))

const isLoopbackUrl = (url: URL) =>
  url.hostname === 'localhost' ||
  url.hostname === '[::1]' ||
  /^127(\.\d{1,3}){3}$/.test(url.hostname)

export class ConsoleSignIn {
  private configuration: Promise<OpenIdClient.Configuration> | undefined

  constructor(
    readonly settings: OidcSettings,
    private readonly authenticate: Authenticate,
  ) {}

  /**
   * The redirect URI: on the configured base URL (AUDTRAIL_PUBLIC_URL), whatever the request's
   * Host says. Without one, on the request's own origin only when its host is a loopback address
   * (a local browser); any other Host header is not trusted and becomes `localhost` (same port),
   * which the identity provider refuses unless it is the registered redirect URI.
   */
  redirectUri(requestOrigin: string): string {
    if (this.settings.baseUrl) return new URL('/auth/callback', this.settings.baseUrl).href
    const origin = new URL(requestOrigin)
    if (!isLoopbackUrl(origin)) origin.hostname = 'localhost'
    return new URL('/auth/callback', origin).href
  }

  /** Discovery, once (again after a failure). Plain http is allowed for a loopback issuer only. */
  private config(): Promise<OpenIdClient.Configuration> {
    const issuer = new URL(this.settings.issuer)
    this.configuration ??= openIdClient()
      .then((client) =>
        client.discovery(
          issuer,
          this.settings.clientId,
          undefined,
          this.settings.clientSecret
            ? client.ClientSecretBasic(this.settings.clientSecret)
            : client.None(),
          issuer.protocol === 'http:' && isLoopbackUrl(issuer)
            ? { execute: [client.allowInsecureRequests], timeout: 10 }
            : { timeout: 10 },
        ),
      )
      .catch((err: unknown) => {
        this.configuration = undefined
        throw err
      })
    return this.configuration
  }

  /** Where to send the browser, and the checks to keep for the callback. */
  async start(redirectUri: string): Promise<{ url: string; state: string; verifier: string }> {
    const config = await this.config()
    const client = await openIdClient()
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.settings.scope ?? 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      resource: this.settings.audience,
    })
    return { url: url.href, state, verifier }
  }

  /** The callback: the code exchanged (state and PKCE checked), the token checked by the API. */
  async finish(
    callbackQuery: string,
    checks: { state: string; verifier: string; redirectUri: string },
  ): Promise<SignedIn> {
    const config = await this.config()
    const client = await openIdClient()
    const current = new URL(checks.redirectUri)
    current.search = callbackQuery
    const tokens = await client.authorizationCodeGrant(
      config,
      current,
      { pkceCodeVerifier: checks.verifier, expectedState: checks.state },
      { resource: this.settings.audience },
    )
    const caller = await this.authenticate(`Bearer ${tokens.access_token}`)
    const lifetime = Math.min(tokens.expires_in ?? 3600, 8 * 3600)
    return {
      accessToken: tokens.access_token,
      caller,
      expiresAt: Date.now() + lifetime * 1000,
    }
  }

  /** The issuer's end-session endpoint, when it has one (RP-Initiated Logout 1.0). */
  async endSessionUrl(): Promise<string | undefined> {
    try {
      const config = await this.config()
      const client = await openIdClient()
      if (!config.serverMetadata().end_session_endpoint) return undefined
      return client.buildEndSessionUrl(config, { client_id: this.settings.clientId }).href
    } catch {
      return undefined
    }
  }
}
