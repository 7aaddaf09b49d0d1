/**
 * The API's caller as the console sees it: the same shape as api/auth.ts `Caller` (the console
 * does not import the API; the API registers the console), and the API's authenticator as a
 * function type.
 */
export type Role = 'viewer' | 'analyst' | 'admin' | 'ingest'

export interface Caller {
  subject: string
  roles: readonly string[]
  /** undefined only in open mode. */
  tenant?: string
}

/** The API's authentication of an `Authorization` header (rejects as the API does). */
export type Authenticate = (authorization: string | undefined) => Promise<Caller>
