/** The one error hierarchy of audtrail: a stable `code` on class and instance, `retriable` for pipeline errors. */

export type AudtrailErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_EVENT_INVALID'
  | 'ERR_MIGRATION_CHECKSUM'
  | 'ERR_MIGRATION_LAYOUT'
  | 'ERR_MIGRATION_FAILED'
  | 'ERR_SINK_UNAVAILABLE'
  | 'ERR_STORAGE_QUERY'
  | 'ERR_TRANSPORT_UNAVAILABLE'

export class AudtrailError extends Error {
  static code: AudtrailErrorCode
  readonly code: AudtrailErrorCode
  /** true when retrying the same operation later may succeed (outages, timeouts). */
  readonly retriable: boolean

  constructor(
    code: AudtrailErrorCode,
    message: string,
    options?: { cause?: unknown; retriable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.retriable = options?.retriable ?? false
  }
}

/** Configuration problems, all of them at once, each `VARIABLE: what is wrong`. */
export class ConfigError extends AudtrailError {
  static override code = 'ERR_CONFIG_INVALID' as const
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(
      'ERR_CONFIG_INVALID',
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    )
    this.problems = problems
  }
}

/** An event that does not satisfy the contract; `reasons` are `path: message` strings. */
export class EventValidationError extends AudtrailError {
  static override code = 'ERR_EVENT_INVALID' as const
  readonly reasons: readonly string[]

  constructor(reasons: readonly string[]) {
    super('ERR_EVENT_INVALID', `invalid event: ${reasons.join('; ')}`)
    this.reasons = reasons
  }
}

/** Storage failures, mapped from ClickHouse errors so callers never see driver internals. */
export class StorageError extends AudtrailError {
  /** The server's own message, for operators only (CLI output, logs); never sent to API callers. */
  detail?: string

  constructor(
    code: 'ERR_SINK_UNAVAILABLE' | 'ERR_STORAGE_QUERY',
    message: string,
    options?: { cause?: unknown; retriable?: boolean },
  ) {
    super(code, message, options)
  }
}

export class MigrationError extends AudtrailError {
  constructor(
    code: 'ERR_MIGRATION_CHECKSUM' | 'ERR_MIGRATION_LAYOUT' | 'ERR_MIGRATION_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
  }
}

export function isAudtrailError(err: unknown): err is AudtrailError {
  return err instanceof AudtrailError
}
