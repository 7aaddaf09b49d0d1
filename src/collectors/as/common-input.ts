/** The input fields the AS builders share: the request's common facts and the issued token. */
import type { SourceKind, TokenInfo } from '../../events/schema.js'

/** A raw request parameter: one value, repeated values, or absent. */
export type RawValues = string | readonly string[] | undefined

export interface CommonInput {
  /** this AS; `kind` defaults to `authorization_server` */
  source: { id: string; kind?: SourceKind }
  /** default `default` */
  tenant?: string
  issuer?: string
  clientId?: string
  subject?: string
  sessionId?: string
  /** from the request; an IP that is not a valid address is left out, a user agent is cleaned */
  network?: { ip?: string; userAgent?: string }
  attributes?: Record<string, unknown>
  /**
   * other credentials of the request (client secret, code, refresh token...): cut out of every
   * field they were copied into, never emitted (values shorter than 8 characters are ignored)
   */
  secrets?: readonly (string | undefined)[]
  /** default: a new random UUID */
  eventId?: string
  /** default: now */
  occurredAt?: Date | string
}

export interface IssuedTokenInput {
  /** the raw access token: fingerprinted and, when a JWT, decoded (not verified); never emitted */
  accessToken?: string
  /** HMAC key shared by AS and RS collectors (`fingerprintToken`) */
  fingerprintKey?: string | Uint8Array
  /** explicit token fields; they win over what is decoded from `accessToken` */
  token?: Partial<TokenInfo>
  /** default: the token's `aud` */
  grantedAud?: RawValues
}
