/** What the long-running commands share: logger, storage, registry, API keys, signals. */
import type { KeyObject } from 'node:crypto'
import { loadSigningKey } from '../reports/integrity.js'
import {
  parseReportThresholds,
  ReportThresholdsError,
  type ReportThresholds,
} from '../reports/thresholds.js'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose'
import { createAuthenticator, type Authenticate } from '../api/auth.js'
import { fairnessFromConfig, withFairness } from '../api/fairness.js'
import { rateLimited } from '../api/rate-limit.js'
import type { ConsoleOptions } from '../console/index.js'
import type { Config } from '../config.js'
import { ConfigError } from '../errors.js'
import { createLogger, type Logger } from '../logger.js'
import type { ClickHouseSinkOptions } from '../pipeline/sink.js'
import { loadResourceRegistry, type ResourceRegistry } from '../resource-registry.js'
import { createStorage, type Storage } from '../storage/client.js'
import { migrate, pendingMigrations } from '../storage/migrate.js'
import { integrityFor } from '../integrity/runtime.js'

export function openStorage(config: Config): Storage {
  return createStorage({ ...config.clickhouse, dataDir: config.dataDir })
}

/**
 * The sink of the commands that ingest: its journal of unacknowledged inserts lives in the data
 * dir (in both storage modes), so a restarted process replays what the killed one left.
 */
export function sinkOptions(config: Config, log: Logger, storage?: Storage): ClickHouseSinkOptions {
  return {
    journalDir: join(config.dataDir, 'insert-journal'),
    logger: log,
    // The tamper-evident chain and its checkpoints (docs/integrity.md).
    integrity: storage ? integrityFor(config, storage, log) : undefined,
  }
}

export function logger(config: Config, name: string): Logger {
  return createLogger(config.logLevel, name)
}

export function registry(config: Config): ResourceRegistry | undefined {
  return config.resourcesFile ? loadResourceRegistry(config.resourcesFile) : undefined
}

/**
 * The embedded engine belongs to this process, so its schema is brought up to date here; a
 * ClickHouse server is migrated once by `audtrail migrate` (several consumers must not race).
 */
export async function prepareStorage(storage: Storage, config: Config, log: Logger): Promise<void> {
  if (storage.mode !== 'embedded') {
    const pending = await pendingMigrations(storage)
    if (pending.length > 0)
      throw new ConfigError([
        `CLICKHOUSE_URL: database '${storage.database}' lacks ${pending.length} migration(s) (${pending[0]}...): run \`audtrail migrate\` first`,
      ])
    return
  }
  const result = await migrate(storage, { retention: config.retention })
  if (result.applied.length > 0) log.info({ applied: result.applied }, 'schema migrated')
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '[::1]'
}

/** API authentication from configuration; an open API is refused off loopback. */
export function authenticator(config: Config, log: Logger): Authenticate {
  const { jwksFile, jwksUrl, issuer, audience } = config.api
  if (!jwksFile && !jwksUrl) {
    if (!isLoopback(config.host))
      throw new ConfigError([
        `AUDTRAIL_HOST: ${config.host} is not a loopback address and no AUDTRAIL_JWKS_FILE or AUDTRAIL_JWKS_URL is set: the API would be open to the network`,
      ])
    log.warn('no AUDTRAIL_JWKS_FILE or AUDTRAIL_JWKS_URL: the API is open on loopback only')
    return withFairness(
      rateLimited(createAuthenticator({}), { perSecond: config.api.rateLimit }),
      fairnessFromConfig(config.api),
    )
  }
  const problems: string[] = []
  if (!issuer) problems.push('AUDTRAIL_API_ISSUER: required when API authentication is configured')
  if (!audience)
    problems.push('AUDTRAIL_API_AUDIENCE: required when API authentication is configured')
  let keys
  if (jwksFile) {
    try {
      keys = createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')) as JSONWebKeySet)
    } catch {
      problems.push(`AUDTRAIL_JWKS_FILE: ${jwksFile} is not a readable JWK Set`)
    }
  } else keys = createRemoteJWKSet(new URL(jwksUrl!))
  if (problems.length > 0) throw new ConfigError(problems)
  return withFairness(
    rateLimited(createAuthenticator({ keys, issuer, audience }), {
      perSecond: config.api.rateLimit,
    }),
    fairnessFromConfig(config.api),
  )
}

/**
 * The console's sign-in (src/console): with API authentication and AUDTRAIL_CONSOLE_CLIENT_ID,
 * OpenID Connect at the API's issuer for the API's audience; without API authentication the
 * console opens directly (open loopback API); with authentication but no client id it shows how
 * to configure sign-in.
 *
 * The sign-in's redirect URI is built on AUDTRAIL_PUBLIC_URL when it is set, never on a request's
 * Host header. Without it, the Host of the sign-in request is used only while audtrail listens on
 * loopback (and only a loopback Host, src/console/oidc.ts); listening on another address, sign-in
 * needs AUDTRAIL_PUBLIC_URL, so a forged Host can never pick the redirect URI.
 */
export function consoleOptions(config: Config): ConsoleOptions {
  const { jwksFile, jwksUrl, issuer, audience } = config.api
  if ((!jwksFile && !jwksUrl) || !issuer || !audience || !config.console.clientId) return {}
  if (!config.publicUrl && !isLoopback(config.host))
    throw new ConfigError([
      `AUDTRAIL_PUBLIC_URL: required with AUDTRAIL_CONSOLE_CLIENT_ID when AUDTRAIL_HOST (${config.host}) is not a loopback address: the console's sign-in redirect URI is built on it, never on a request's Host header`,
    ])
  return {
    oidc: {
      issuer,
      audience,
      clientId: config.console.clientId,
      clientSecret: config.console.clientSecret,
      ...(config.publicUrl ? { baseUrl: config.publicUrl } : {}),
    },
  }
}

/** Resolve when SIGINT or SIGTERM arrives (once). */
export function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    const handler = (signal: string) => {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
      resolve(signal)
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  })
}

/** The operator's compliance report thresholds (AUDTRAIL_REPORT_THRESHOLDS); a bad one stops start-up. */
export function reportThresholds(config: Config): ReportThresholds {
  try {
    return parseReportThresholds(config.api.reportThresholds)
  } catch (err) {
    if (err instanceof ReportThresholdsError) throw new ConfigError([err.message])
    throw err
  }
}

/** The key that signs the API's JSON compliance reports, when AUDTRAIL_REPORT_SIGNING_KEY is set. */
export function reportSigningKey(config: Config): KeyObject | undefined {
  const text = config.api.reportSigningKey
  return text ? loadSigningKey(text) : undefined
}
