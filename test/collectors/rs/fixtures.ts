/** Fixtures for the resource-server collector tests: an in-test emitter, keys, tokens, captured logs. */
import { Writable } from 'node:stream'
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose'
import { pino, type Logger } from 'pino'
import { parseEvent } from '../../../src/events/parse.js'
import type { AuditEventInput, TokenPresentedEvent } from '../../../src/events/schema.js'
import type { Emitter, EmitterStats } from '../../../src/collectors/types.js'

/** Implements the Emitter interface; validates every event against the contract as it arrives. */
export class TestEmitter implements Emitter {
  readonly events: TokenPresentedEvent[] = []
  readonly raw: AuditEventInput[] = []
  readonly invalid: string[][] = []
  throws = false

  emit(event: AuditEventInput): void {
    if (this.throws) throw new Error('transport exploded')
    this.raw.push(event)
    const result = parseEvent(JSON.parse(JSON.stringify(event)))
    if (!result.ok) this.invalid.push(result.reasons)
    else if (result.event.event_type === 'token.presented') this.events.push(result.event)
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): EmitterStats {
    const n = this.raw.length
    return { emitted: n, sent: n, spooled: 0, replayed: 0, dropped: 0, failures: 0, queued: 0 }
  }
}

export interface SigningKey {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  publicJwk: JWK
}

export async function signingKey(kid: string, alg = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicKey, publicJwk }
}

export interface MintOptions {
  key: SigningKey
  claims?: JWTPayload
  typ?: string | null
  kid?: string | null
  /** seconds from now (negative: already expired) */
  expiresIn?: number
}

export const ISSUER = 'https://as.example'
export const RESOURCE = 'https://api-b.example'

/** A JWT access token as an RFC 9068 AS would mint it, with every knob a test needs to break it. */
export async function mint(o: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const header: Record<string, unknown> = { alg: o.key.alg }
  if (o.typ !== null) header.typ = o.typ ?? 'at+jwt'
  if (o.kid !== null) header.kid = o.kid ?? o.key.kid
  const claims: JWTPayload = {
    iss: ISSUER,
    aud: RESOURCE,
    sub: 'user-1',
    client_id: 'agent-1',
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    iat: now - 5,
    exp: now + (o.expiresIn ?? 300),
    scope: 'tools:read tools:call',
    ...o.claims,
  }
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(o.key.privateKey)
}

/** An unsecured JWT (`alg: none`): header and payload only, empty signature. */
export function unsecured(claims: JWTPayload, typ = 'at+jwt'): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${b64({ alg: 'none', typ })}.${b64(claims)}.`
}

/** A pino logger whose JSON lines are kept in memory, to search them for tokens. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  return { logger: pino({ level: 'trace' }, stream), lines }
}
