/**
 * Console sessions, kept server-side: the browser holds only a random session id in an HttpOnly,
 * SameSite=Strict cookie (OWASP Session Management Cheat Sheet); the access token, the caller and
 * the CSRF token stay here. A sign-in in progress (state, PKCE verifier) is a login transaction
 * under its own short-lived SameSite=Lax cookie, scoped to the callback path: the identity
 * provider's redirect back is a cross-site navigation, which a Strict cookie would not follow.
 *
 * `SessionStore` is the interface; `MemorySessionStore` keeps them in this process (a restart or
 * another replica asks for a new sign-in; docs/console.md).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Caller } from './caller.js'

export interface ConsoleSession {
  id: string
  /** The synchronizer token every state-changing form carries. */
  csrf: string
  expiresAt: number
  /** Absent without sign-in (open mode: the API asks for no credentials). */
  accessToken?: string
  caller?: Caller
}

export interface LoginTransaction {
  id: string
  state: string
  verifier: string
  redirectUri: string
  /** The console path to return to. */
  next: string
  expiresAt: number
}

export interface SessionStore {
  create(init: Omit<ConsoleSession, 'id' | 'csrf'>): ConsoleSession
  get(id: string): ConsoleSession | undefined
  delete(id: string): void
  begin(init: Omit<LoginTransaction, 'id'>): LoginTransaction
  /** The transaction, removed (one use). */
  take(id: string): LoginTransaction | undefined
}

export const randomId = () => randomBytes(32).toString('base64url')

/** The sessions of this process, the oldest evicted beyond `max`. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>()
  private readonly logins = new Map<string, LoginTransaction>()
  constructor(
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(init: Omit<ConsoleSession, 'id' | 'csrf'>): ConsoleSession {
    const session = { ...init, id: randomId(), csrf: randomId() }
    this.sessions.set(session.id, session)
    evict(this.sessions, this.max)
    return session
  }

  get(id: string): ConsoleSession | undefined {
    const session = this.sessions.get(id)
    if (session && session.expiresAt <= this.now()) {
      this.sessions.delete(id)
      return undefined
    }
    return session
  }

  delete(id: string): void {
    this.sessions.delete(id)
  }

  begin(init: Omit<LoginTransaction, 'id'>): LoginTransaction {
    const login = { ...init, id: randomId() }
    this.logins.set(login.id, login)
    evict(this.logins, this.max)
    return login
  }

  take(id: string): LoginTransaction | undefined {
    const login = this.logins.get(id)
    this.logins.delete(id)
    return login && login.expiresAt > this.now() ? login : undefined
  }
}

function evict(map: Map<string, unknown>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value!)
}

export const SESSION_COOKIE = 'audtrail_console'
export const LOGIN_COOKIE = 'audtrail_login'
export const CALLBACK_PATH = '/auth/callback'

/** The request's cookies (RFC 6265 §5.4 pairs; a value is not decoded, ids are base64url). */
export function cookies(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=')
    if (at > 0) out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim()
  }
  return out
}

const secure = (request: FastifyRequest) => (request.protocol === 'https' ? '; Secure' : '')

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  session: ConsoleSession,
): void {
  const maxAge = Math.max(0, Math.floor((session.expiresAt - Date.now()) / 1000))
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure(request)}`,
  )
}

export function setLoginCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  login: LoginTransaction,
): void {
  reply.header(
    'set-cookie',
    `${LOGIN_COOKIE}=${login.id}; Path=${CALLBACK_PATH}; HttpOnly; SameSite=Lax; Max-Age=600${secure(request)}`,
  )
}

export function clearCookies(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', [
    `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure(request)}`,
    `${LOGIN_COOKIE}=; Path=${CALLBACK_PATH}; HttpOnly; SameSite=Lax; Max-Age=0${secure(request)}`,
  ])
}

/** Equal tokens, compared in constant time. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Whether a state-changing request may come from this origin: an `Origin` header, when sent,
 * names this host; `Sec-Fetch-Site`, when sent, says same-origin (OWASP CSRF Prevention Cheat
 * Sheet: verifying origin with standard headers, Fetch Metadata). The CSRF token is checked too.
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin') return false
  const origin = request.headers.origin
  if (origin === undefined) return true
  try {
    const url = new URL(origin)
    return url.host === request.headers.host && `${url.protocol}` === `${request.protocol}:`
  } catch {
    return false
  }
}
