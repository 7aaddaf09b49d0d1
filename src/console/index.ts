/**
 * The analyst console (issue 24): server-rendered pages at `/` on the API's origin, with htmx for
 * partial updates (docs/design/console.md). Pages read and write through the API in-process with
 * the caller's credentials (context.ts); sign-in is OpenID Connect with PKCE when the API
 * authenticates (oidc.ts), sessions are server-side (session.ts), every state change carries a
 * CSRF token bound to the session and a same-origin check, and every answer a strict CSP.
 *
 * Console routes are marked `config.console`: they are not API routes (not in the OpenAPI
 * document, not under /v1) and answer HTML, with errors as pages.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { Authenticate, Caller } from './caller.js'
import { asset } from './assets.js'
import { ApiProblem, type ConsoleContext } from './context.js'
import { html, type Fragment } from './html.js'
import { page, problem, type Frame } from './layout.js'
import { ConsoleSignIn, type OidcSettings } from './oidc.js'
import { clientPage, clientsPage } from './pages/clients.js'
import { compliancePage, complianceDownload } from './pages/compliance.js'
import { docsPage } from './pages/docs.js'
import { addException, findingPage, triageFinding } from './pages/finding.js'
import { bulkTriage, queuePage } from './pages/queue.js'
import { resourcesPage } from './pages/resources.js'
import { rulePage, rulesPage } from './pages/rules.js'
import { tokenPage } from './pages/token.js'
import {
  CALLBACK_PATH,
  clearCookies,
  cookies,
  LOGIN_COOKIE,
  MemorySessionStore,
  sameOrigin,
  sameToken,
  SESSION_COOKIE,
  setLoginCookie,
  setSessionCookie,
  type ConsoleSession,
  type SessionStore,
} from './session.js'

export interface ConsoleOptions {
  /** Sign-in through OpenID Connect; absent: the console opens directly (open loopback API). */
  oidc?: OidcSettings
  /** Where sessions live (default: this process's memory). */
  sessions?: SessionStore
}

/** What a page handler returns: its frame and body (status 200 unless given). */
export interface PageResult {
  title: string
  section?: Frame['section']
  body: Fragment
  status?: number
}

export type PageHandler = (
  ctx: ConsoleContext,
  params: Record<string, string>,
  query: Record<string, string | string[]>,
  form: Record<string, string>,
) => Promise<PageResult | void>

const CSP_PAGES =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
// Swagger UI sets style attributes as it renders: its page allows inline styles, never scripts.
const CSP_DOCS =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const CONSOLE = { console: true }
const SESSION_HOURS = 8

/** Security headers on every console answer (OWASP Secure Headers Project). */
function securityHeaders(reply: FastifyReply, docs = false): void {
  reply.headers({
    'content-security-policy': docs ? CSP_DOCS : CSP_PAGES,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  })
}

/** A console path to return to after sign-in: a path of this origin, never `//host` or a URL. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && next.length <= 2048
    ? next
    : '/'
}

export async function registerConsole(
  app: FastifyInstance,
  options: {
    document: unknown
    authenticate: Authenticate
    /** The pages need the query routes (storage); /docs and /openapi.json are always served. */
    pages: boolean
    console?: ConsoleOptions
  },
): Promise<void> {
  const sessions = options.console?.sessions ?? new MemorySessionStore()
  const oidc = options.console?.oidc
    ? new ConsoleSignIn(options.console.oidc, options.authenticate)
    : undefined

  await app.register(async (scope) => {
    // Forms arrive url-encoded; parsed here only (the API keeps JSON), at most 64 KiB.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 65_536 },
      (_request, body, done) => {
        const form: Record<string, string> = {}
        for (const [k, v] of new URLSearchParams(body as string)) form[k] ??= v
        done(null, form)
      },
    )
    scope.addHook('onRequest', async (_request, reply) => securityHeaders(reply))
    scope.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
      const status =
        err instanceof ApiProblem
          ? err.status
          : err.statusCode && err.statusCode >= 400 && err.statusCode < 500
            ? err.statusCode
            : 500
      if (status >= 500) request.log.error({ err }, 'console page failed')
      const message =
        status >= 500 && !(err instanceof ApiProblem) ? 'the console failed to answer' : err.message
      // An access token the API no longer takes (expired, revoked): a new sign-in, same page.
      const again =
        status === 401 && options.console?.oidc
          ? html`<p>
              <a href="/auth/login?next=${encodeURIComponent(safeNext(request.url))}"
                >Sign in again</a
              >
            </p>`
          : ''
      void reply
        .status(status >= 500 ? 503 : status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page({ title: 'Problem' }, problem(titleOf(status), message, again)).value)
    })

    const opts: RouteShorthandOptions = { config: CONSOLE }

    scope.get('/assets/:name', opts, async (request, reply) => {
      const file = asset((request.params as { name: string }).name)
      if (!file) return reply.status(404).type('text/plain').send('no such asset')
      reply.header('cache-control', 'public, max-age=3600').header('etag', file.etag)
      if (request.headers['if-none-match'] === file.etag) return reply.status(304).send()
      return reply.type(file.type).send(file.body)
    })

    scope.get('/openapi.json', opts, async () => options.document)
    // /docs: Swagger UI for browsers; the JSON document for every other client (as before).
    scope.get('/docs', opts, async (request, reply) => {
      if (!/text\/html/.test(request.headers.accept ?? '')) return options.document
      securityHeaders(reply, true)
      return reply.type('text/html; charset=utf-8').send(docsPage().value)
    })

    if (!options.pages) return

    /** The session of a request: existing, or (open mode) a new anonymous one. */
    async function sessionOf(
      request: FastifyRequest,
      reply: FastifyReply,
    ): Promise<{ session: ConsoleSession; caller: Caller } | undefined> {
      const id = cookies(request)[SESSION_COOKIE]
      const existing = id ? sessions.get(id) : undefined
      if (oidc) {
        if (!existing?.accessToken || !existing.caller) return undefined
        return { session: existing, caller: existing.caller }
      }
      // Open mode: the API's own answer for a caller without credentials.
      const caller = await options.authenticate(undefined)
      if (existing) return { session: existing, caller }
      const session = sessions.create({ expiresAt: Date.now() + SESSION_HOURS * 3_600_000 })
      setSessionCookie(request, reply, session)
      return { session, caller }
    }

    function contextOf(
      request: FastifyRequest,
      reply: FastifyReply,
      found: { session: ConsoleSession; caller: Caller },
    ): ConsoleContext {
      const tenant = (request.query as { tenant?: unknown }).tenant
      return {
        app,
        request,
        reply,
        session: found.session,
        caller: found.caller,
        signedIn: oidc !== undefined,
        tenant: !oidc && typeof tenant === 'string' && tenant !== '' ? tenant : undefined,
      }
    }

    async function answer(ctx: ConsoleContext, result: PageResult | void, reply: FastifyReply) {
      if (!result) return reply
      return reply
        .status(result.status ?? 200)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          page(
            {
              title: result.title,
              section: result.section,
              caller: ctx.caller,
              csrf: ctx.session.csrf,
              signedIn: ctx.signedIn,
            },
            result.body,
          ).value,
        )
    }

    function view(url: string, handler: PageHandler) {
      scope.get(url, opts, async (request, reply) => {
        let found
        try {
          found = await sessionOf(request, reply)
        } catch (err) {
          return unauthenticated(reply, err)
        }
        if (!found)
          return reply.redirect(`/auth/login?next=${encodeURIComponent(request.url)}`, 303)
        const ctx = contextOf(request, reply, found)
        const result = await handler(
          ctx,
          request.params as Record<string, string>,
          request.query as Record<string, string | string[]>,
          {},
        )
        return answer(ctx, result, reply)
      })
    }

    /** A state change: a session, its CSRF token and this origin, or 403 before anything runs. */
    function action(url: string, handler: PageHandler) {
      scope.post(url, opts, async (request, reply) => {
        const form =
          request.body && typeof request.body === 'object'
            ? (request.body as Record<string, string>)
            : {}
        const id = cookies(request)[SESSION_COOKIE]
        const session = id ? sessions.get(id) : undefined
        if (!session || !sameOrigin(request) || !sameToken(form._csrf, session.csrf))
          return forbidden(
            reply,
            'this form is not from a console page of this session (CSRF check)',
          )
        let found
        try {
          found = await sessionOf(request, reply)
        } catch (err) {
          return unauthenticated(reply, err)
        }
        if (!found || found.session.id !== session.id)
          return forbidden(reply, 'sign in again to change anything')
        const ctx = contextOf(request, reply, found)
        const result = await handler(
          ctx,
          request.params as Record<string, string>,
          request.query as Record<string, string | string[]>,
          form,
        )
        return answer(ctx, result, reply)
      })
    }

    function forbidden(reply: FastifyReply, message: string) {
      return reply
        .status(403)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page({ title: 'Refused' }, problem('Refused', message)).value)
    }

    function unauthenticated(reply: FastifyReply, err: unknown) {
      const status = err instanceof Error && 'statusCode' in err ? Number(err.statusCode) : 401
      return reply
        .status(status === 429 ? 429 : 401)
        .type('text/html; charset=utf-8')
        .send(
          page(
            { title: 'Sign-in needed' },
            problem(
              'Sign-in needed',
              status === 429
                ? 'too many requests; retry in a moment'
                : 'the API asks for credentials and console sign-in is not configured (AUDTRAIL_CONSOLE_CLIENT_ID, docs/console.md)',
            ),
          ).value,
        )
    }

    view('/', queuePage)
    action('/bulk-triage', bulkTriage)
    view('/findings/:id', findingPage)
    action('/findings/:id/triage', triageFinding)
    action('/findings/:id/exception', addException)
    view('/tokens/:key', tokenPage)
    view('/clients', clientsPage)
    view('/clients/:id', clientPage)
    view('/resources', resourcesPage)
    view('/rules', rulesPage)
    view('/rules/:id', rulePage)
    view('/compliance', compliancePage)
    scope.get('/compliance/download', opts, async (request, reply) => {
      let found
      try {
        found = await sessionOf(request, reply)
      } catch (err) {
        return unauthenticated(reply, err)
      }
      if (!found) return reply.redirect(`/auth/login?next=${encodeURIComponent(request.url)}`, 303)
      return complianceDownload(
        contextOf(request, reply, found),
        request.query as Record<string, string>,
      )
    })

    // Sign-in and sign-out.
    scope.get('/auth/login', opts, async (request, reply) => {
      const next = safeNext((request.query as { next?: unknown }).next)
      if (!oidc) return reply.redirect(next, 303)
      const host = request.headers.host ?? ''
      const redirectUri = oidc.redirectUri(
        `${request.protocol}://${/^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? host : 'localhost'}`,
      )
      const started = await oidc.start(redirectUri).catch((err: unknown) => {
        request.log.warn({ err }, 'console sign-in: discovery failed')
        return undefined
      })
      if (!started)
        return reply
          .status(503)
          .type('text/html; charset=utf-8')
          .send(
            page(
              { title: 'Sign-in unavailable' },
              problem(
                'Sign-in unavailable',
                'the identity provider could not be reached; retry later',
              ),
            ).value,
          )
      const login = sessions.begin({
        state: started.state,
        verifier: started.verifier,
        redirectUri,
        next,
        expiresAt: Date.now() + 600_000,
      })
      setLoginCookie(request, reply, login)
      return reply.redirect(started.url, 303)
    })

    scope.get(CALLBACK_PATH, opts, async (request, reply) => {
      if (!oidc) return reply.redirect('/', 303)
      const id = cookies(request)[LOGIN_COOKIE]
      const login = id ? sessions.take(id) : undefined
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''
      let signed
      try {
        if (!login) throw new Error('no sign-in in progress (or it expired)')
        signed = await oidc.finish(query, login)
      } catch (err) {
        request.log.info({ err: { message: (err as Error).message } }, 'console sign-in refused')
        clearCookies(request, reply)
        return reply
          .status(403)
          .type('text/html; charset=utf-8')
          .send(
            page(
              { title: 'Sign-in failed' },
              problem(
                'Sign-in failed',
                err instanceof ApiProblem || (err as { statusCode?: number }).statusCode === 401
                  ? `the API does not accept this sign-in: ${(err as Error).message}`
                  : 'the identity provider answer could not be verified',
                html`<p><a href="/auth/login">Sign in again</a></p>`,
              ),
            ).value,
          )
      }
      const session = sessions.create({
        accessToken: signed.accessToken,
        caller: signed.caller,
        expiresAt: Math.min(signed.expiresAt, Date.now() + SESSION_HOURS * 3_600_000),
      })
      reply.header('set-cookie', [
        `${LOGIN_COOKIE}=; Path=${CALLBACK_PATH}; HttpOnly; SameSite=Lax; Max-Age=0`,
      ])
      setSessionCookie(request, reply, session)
      // A page that moves on by itself: a same-site navigation, so the Strict cookie goes along
      // (a redirect would still belong to the identity provider's cross-site navigation).
      const next = login!.next
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          html`<!doctype html>
            <html lang="en">
              <head>
                <meta charset="utf-8" />
                <meta http-equiv="refresh" content="0;url=${next}" />
                <title>Signed in · audtrail</title>
                <link rel="stylesheet" href="/assets/console.css" />
              </head>
              <body>
                <main id="main">
                  <h1>Signed in</h1>
                  <p><a href="${next}">Continue to the console</a></p>
                </main>
              </body>
            </html>`.value,
        )
    })

    scope.post('/auth/logout', opts, async (request, reply) => {
      const form = (request.body ?? {}) as Record<string, string>
      const id = cookies(request)[SESSION_COOKIE]
      const session = id ? sessions.get(id) : undefined
      if (!session || !sameOrigin(request) || !sameToken(form._csrf, session.csrf))
        return forbidden(reply, 'this form is not from a console page of this session (CSRF check)')
      sessions.delete(session.id)
      clearCookies(request, reply)
      const end = oidc ? await oidc.endSessionUrl() : undefined
      return reply.type('text/html; charset=utf-8').send(
        page(
          { title: 'Signed out' },
          html`<h1>Signed out</h1>
            <p>Your console session has ended.</p>
            <p>
              <a href="/auth/login">Sign in again</a>${
                end ? html` · <a href="${end}">Sign out of the identity provider too</a>` : ''
              }
            </p>`,
        ).value,
      )
    })
  })
}

function titleOf(status: number): string {
  if (status === 400) return 'Not a valid request'
  if (status === 401) return 'Sign-in needed'
  if (status === 403) return 'Not allowed'
  if (status === 404) return 'Not found'
  if (status === 429) return 'Slow down'
  return 'Unavailable'
}
