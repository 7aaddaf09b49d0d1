/**
 * Configuration from environment variables (docs/spec/product.md), validated once by zod.
 * Every problem is reported together, as `VARIABLE: what is wrong`; defaults suit the embedded mode.
 */
import { z } from 'zod'
import { ConfigError } from './errors.js'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional()

function httpUrl(what: string) {
  return z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          const u = new URL(v)
          return u.protocol === 'http:' || u.protocol === 'https:'
        } catch {
          return false
        }
      },
      { message: `must be an http(s) URL of ${what}` },
    )
}

function positiveInt(min: number, max: number) {
  return z.coerce
    .number({ message: 'must be a number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` })
}

const brokers = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== ''),
  )
  .refine((list) => list.length > 0, { message: 'must list at least one host:port' })
  .refine((list) => list.every((b) => /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(b)), {
    message: 'must be comma-separated host:port pairs',
  })

/** The environment schema: names are part of the contract. */
export const EnvSchema = z
  .object({
    AUDTRAIL_HOST: z
      .string()
      .trim()
      .min(1)
      .default('127.0.0.1')
      .describe(
        'address the API and HTTP ingest listen on; a non-loopback address needs API authentication',
      ),
    AUDTRAIL_PORT: positiveInt(0, 65535)
      .default(8080)
      .describe('port the API and HTTP ingest listen on (0 picks a free port)'),
    AUDTRAIL_DATA_DIR: z
      .string()
      .trim()
      .min(1)
      .default('./data')
      .describe(
        "directory of the embedded ClickHouse engine's data, the collector spool and the ingest's journal of unacknowledged inserts (insert-journal/)",
      ),
    AUDTRAIL_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level'),
    CLICKHOUSE_URL: httpUrl('a ClickHouse server')
      .optional()
      .describe(
        'HTTP(S) URL of a ClickHouse server (24.8+); unset = the embedded engine under AUDTRAIL_DATA_DIR',
      ),
    CLICKHOUSE_USER: optionalText.describe('ClickHouse user (server mode)'),
    CLICKHOUSE_PASSWORD: optionalText.describe('ClickHouse password (server mode; never logged)'),
    CLICKHOUSE_DATABASE: z
      .string()
      .regex(IDENTIFIER, { message: 'must be a plain identifier (letters, digits, _)' })
      .default('audtrail')
      .describe('database audtrail creates and uses'),
    CLICKHOUSE_CLUSTER: z
      .string()
      .regex(IDENTIFIER, { message: 'must be a plain identifier (letters, digits, _)' })
      .optional()
      .describe(
        'cluster name: migrations run ON CLUSTER with Replicated engines (server mode only)',
      ),
    KAFKA_BROKERS: brokers
      .optional()
      .describe(
        'comma-separated host:port list; set = Kafka is the transport between ingest and storage',
      ),
    AUDTRAIL_KAFKA_TOPIC: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/)
      .default('audtrail.events.v1')
      .describe('topic of contract events (dead letters go to audtrail.events.dlq.v1)'),
    AUDTRAIL_CONSUMER_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/)
      .default('audtrail-consumers')
      .describe('consumer group of `audtrail consume` (run several members to scale out)'),
    AUDTRAIL_INGEST_TOKEN: optionalText.describe(
      'bearer token `audtrail replay` sends to an HTTP ingest endpoint (never logged)',
    ),
    AUDTRAIL_JWKS_FILE: optionalText.describe(
      "local JWK Set that verifies API callers' JWTs (or AUDTRAIL_JWKS_URL)",
    ),
    AUDTRAIL_JWKS_URL: httpUrl('a JWK Set')
      .optional()
      .describe("URL of the JWK Set that verifies API callers' JWTs (or AUDTRAIL_JWKS_FILE)"),
    AUDTRAIL_API_ISSUER: optionalText.describe("`iss` API callers' JWTs must carry exactly"),
    AUDTRAIL_REPORT_SIGNING_KEY: optionalText.describe(
      'Ed25519 private key (PKCS#8 PEM or private JWK) that signs JSON compliance reports (JWS); unset = digest only',
    ),
    AUDTRAIL_REPORT_THRESHOLDS: optionalText.describe(
      'compliance report thresholds over the defaults, comma-separated `metric=min:N`, `metric=max:N` or `metric=off` (e.g. `sender_constrained_token_share=min:0.95`); unknown metrics are refused (docs/reports.md)',
    ),
    AUDTRAIL_API_AUDIENCE: optionalText.describe(
      "value API callers' JWT `aud` must contain (audtrail enforces audiences on itself)",
    ),
    AUDTRAIL_CONSOLE_CLIENT_ID: optionalText.describe(
      'OpenID Connect client id of the console at `/` (authorization code + PKCE at AUDTRAIL_API_ISSUER); unset with API authentication = the console cannot sign in (docs/console.md)',
    ),
    AUDTRAIL_CONSOLE_CLIENT_SECRET: optionalText.describe(
      "the console client's secret when the identity provider registered it as confidential (never logged); unset = public client, PKCE only",
    ),
    AUDTRAIL_API_RATE_LIMIT: positiveInt(1, 100_000)
      .default(50)
      .describe(
        'API requests per second per caller (bursts up to twice that); 429 with Retry-After beyond',
      ),
    AUDTRAIL_INGEST_EVENT_RATE: positiveInt(0, 1_000_000)
      .default(5000)
      .describe(
        'events per second per tenant HTTP ingest takes, one per event or per KiB of body if more (bursts to twice that, at least 10 000); 429 with Retry-After beyond; 0 = no limit',
      ),
    AUDTRAIL_REPORT_DAY_RATE: positiveInt(0, 1_000_000)
      .default(180)
      .describe(
        'days of report period per minute per tenant a compliance report takes (bursts to twice that, at least 366); 429 with Retry-After beyond; 0 = no limit',
      ),
    AUDTRAIL_TENANT_CONCURRENCY: positiveInt(0, 1000)
      .default(2)
      .describe(
        'expensive API requests (reports, ingests of 1 000+ events or 1+ MiB) at once per tenant; 429 ERR_CONCURRENCY_LIMITED beyond; 0 = no cap',
      ),
    AUDTRAIL_AUTH_FAILURE_LIMIT: positiveInt(0, 1_000_000)
      .default(30)
      .describe(
        'failed API authentications per minute per source address (bursts to that many); then 429 ERR_AUTH_RATE_LIMITED before the token is verified; 0 = no limit',
      ),
    AUDTRAIL_RESOURCES_FILE: optionalText.describe(
      'JSON resource registry (docs/registry.md): resources with aliases, scopes, kind, multi-audience',
    ),
    AUDTRAIL_FINGERPRINT_KEY: z
      .string()
      .min(16, { message: 'must be at least 16 characters (use a random secret)' })
      .optional()
      .describe(
        'secret for HMAC-SHA-256 token fingerprints (16+ characters); unset = plain SHA-256',
      ),
    AUDTRAIL_RETENTION_DAYS: positiveInt(1, 36_500)
      .default(400)
      .describe('days events are kept (TTL, reconciled by `audtrail migrate`)'),
    AUDTRAIL_REJECTED_RETENTION_DAYS: positiveInt(1, 36_500)
      .default(30)
      .describe('days rejected (dead-lettered) events are kept'),
    AUDTRAIL_FINDINGS_RETENTION_DAYS: positiveInt(1, 36_500)
      .default(730)
      .describe('days findings and their occurrences are kept'),
    AUDTRAIL_DETECT_INTERVAL_S: positiveInt(1, 86_400)
      .default(60)
      .describe('seconds between runs of the scheduled rules'),
    AUDTRAIL_ALERT_WEBHOOK_URL: httpUrl('the alert webhook')
      .optional()
      .describe('webhook that receives findings as JSON'),
    AUDTRAIL_ALERT_WEBHOOK_SECRET: optionalText.describe(
      'HMAC-SHA-256 key that signs webhook bodies (X-Audtrail-Signature; never logged)',
    ),
    AUDTRAIL_SLACK_WEBHOOK_URL: httpUrl('the Slack incoming webhook')
      .optional()
      .describe('Slack incoming webhook for findings'),
    AUDTRAIL_ALERT_MIN_SEVERITY: z
      .enum(SEVERITIES)
      .default('medium')
      .describe('lowest severity that raises an alert'),
    AUDTRAIL_PUBLIC_URL: httpUrl('where analysts reach the API and console')
      .refine((v) => !/[?#]/.test(v), { message: 'must not carry a query or fragment' })
      .optional()
      .describe(
        'base URL analysts reach the API and console at (https://audtrail.example.com): links in answers and alerts are absolute under it (relative paths without)',
      ),
    // The tamper-evident chain (docs/integrity.md).
    AUDTRAIL_INTEGRITY: z
      .enum(['on', 'off'])
      .default('on')
      .describe('hash-chain each stored event (docs/integrity.md); off = no chain, no checkpoints'),
    AUDTRAIL_INTEGRITY_SIGNING_KEY: optionalText.describe(
      'Ed25519 private key (PKCS#8 PEM or private JWK) that signs integrity checkpoints; unset = no checkpoints',
    ),
    AUDTRAIL_INTEGRITY_VERIFY_KEYS: optionalText.describe(
      'file of retired checkpoint keys still trusted by `audtrail verify` (a JWK Set or PEM public keys)',
    ),
    AUDTRAIL_INTEGRITY_CHECKPOINT_EVENTS: positiveInt(1, 100_000_000)
      .default(10_000)
      .describe('a checkpoint after this many stored events'),
    AUDTRAIL_INTEGRITY_CHECKPOINT_SECONDS: positiveInt(1, 86_400)
      .default(60)
      .describe('... or this many seconds after the last one, when events were stored since'),
    AUDTRAIL_INTEGRITY_CHECKPOINT_FILE: optionalText.describe(
      'file each checkpoint is appended to (one JSON line), ideally on storage audtrail cannot rewrite',
    ),
    AUDTRAIL_INTEGRITY_CHECKPOINT_WEBHOOK: httpUrl('the checkpoint webhook')
      .optional()
      .describe('URL each checkpoint is POSTed to as JSON (a witness outside audtrail)'),
  })
  .superRefine((env, ctx) => {
    if (env.AUDTRAIL_JWKS_FILE && env.AUDTRAIL_JWKS_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['AUDTRAIL_JWKS_URL'],
        message: 'set either AUDTRAIL_JWKS_FILE or AUDTRAIL_JWKS_URL, not both',
      })
    if (env.CLICKHOUSE_CLUSTER && !env.CLICKHOUSE_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['CLICKHOUSE_CLUSTER'],
        message: 'a cluster needs a ClickHouse server: set CLICKHOUSE_URL too',
      })
    if (env.AUDTRAIL_ALERT_WEBHOOK_SECRET && !env.AUDTRAIL_ALERT_WEBHOOK_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['AUDTRAIL_ALERT_WEBHOOK_SECRET'],
        message: 'has no effect without AUDTRAIL_ALERT_WEBHOOK_URL',
      })
  })

export type Env = z.output<typeof EnvSchema>

export interface Config {
  host: string
  port: number
  dataDir: string
  logLevel: Env['AUDTRAIL_LOG_LEVEL']
  clickhouse: {
    url?: string
    user?: string
    password?: string
    database: string
    cluster?: string
  }
  kafka?: { brokers: string[]; topic: string; groupId: string }
  /** Bearer token `audtrail replay` sends to an HTTP ingest endpoint. */
  ingestToken?: string
  api: {
    jwksFile?: string
    jwksUrl?: string
    issuer?: string
    audience?: string
    /** Ed25519 private key text (PKCS#8 PEM or JWK) that signs JSON compliance reports */
    reportSigningKey?: string
    /** AUDTRAIL_REPORT_THRESHOLDS as given (reports/thresholds.ts reads it). */
    reportThresholds?: string
    /** requests per second per caller (burst twice that) */
    rateLimit: number
    /** events per second per tenant HTTP ingest takes; 0: no limit */
    ingestEventRate: number
    /** days of report period per minute per tenant; 0: no limit */
    reportDayRate: number
    /** expensive requests at once per tenant; 0: no cap */
    tenantConcurrency: number
    /** failed authentications per minute per source address; 0: no limit */
    authFailureLimit: number
  }
  /** The analyst console's OpenID Connect client (sign-in when API authentication is configured). */
  console: { clientId?: string; clientSecret?: string }
  resourcesFile?: string
  fingerprintKey?: string
  retention: { eventsDays: number; rejectedDays: number; findingsDays: number }
  detectIntervalS: number
  /** AUDTRAIL_PUBLIC_URL without a trailing slash: links are absolute under it. */
  publicUrl?: string
  alerts: {
    webhookUrl?: string
    webhookSecret?: string
    slackWebhookUrl?: string
    minSeverity: (typeof SEVERITIES)[number]
  }
  /** The tamper-evident chain (docs/integrity.md). */
  integrity: {
    enabled: boolean
    signingKey?: string
    verifyKeysFile?: string
    checkpointEvents: number
    checkpointSeconds: number
    checkpointFile?: string
    checkpointWebhook?: string
  }
}

/** Names of every variable the configuration reads (documentation and docker-compose checks). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape)

/**
 * Validate the environment once. Unknown variables are ignored; empty strings count as unset.
 * Throws `ConfigError` listing every problem; secrets are never echoed back in messages.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const input: Record<string, string> = {}
  for (const name of CONFIG_VARIABLES) {
    const value = env[name]
    if (value !== undefined && value !== '') input[name] = value
  }
  const parsed = EnvSchema.safeParse(input)
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`,
      ),
    )
  }
  const e = parsed.data
  return {
    host: e.AUDTRAIL_HOST,
    port: e.AUDTRAIL_PORT,
    dataDir: e.AUDTRAIL_DATA_DIR,
    logLevel: e.AUDTRAIL_LOG_LEVEL,
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
      cluster: e.CLICKHOUSE_CLUSTER,
    },
    kafka: e.KAFKA_BROKERS
      ? {
          brokers: e.KAFKA_BROKERS,
          topic: e.AUDTRAIL_KAFKA_TOPIC,
          groupId: e.AUDTRAIL_CONSUMER_GROUP,
        }
      : undefined,
    ingestToken: e.AUDTRAIL_INGEST_TOKEN,
    api: {
      jwksFile: e.AUDTRAIL_JWKS_FILE,
      jwksUrl: e.AUDTRAIL_JWKS_URL,
      issuer: e.AUDTRAIL_API_ISSUER,
      audience: e.AUDTRAIL_API_AUDIENCE,
      reportSigningKey: e.AUDTRAIL_REPORT_SIGNING_KEY,
      reportThresholds: e.AUDTRAIL_REPORT_THRESHOLDS,
      rateLimit: e.AUDTRAIL_API_RATE_LIMIT,
      ingestEventRate: e.AUDTRAIL_INGEST_EVENT_RATE,
      reportDayRate: e.AUDTRAIL_REPORT_DAY_RATE,
      tenantConcurrency: e.AUDTRAIL_TENANT_CONCURRENCY,
      authFailureLimit: e.AUDTRAIL_AUTH_FAILURE_LIMIT,
    },
    console: {
      clientId: e.AUDTRAIL_CONSOLE_CLIENT_ID,
      clientSecret: e.AUDTRAIL_CONSOLE_CLIENT_SECRET,
    },
    resourcesFile: e.AUDTRAIL_RESOURCES_FILE,
    fingerprintKey: e.AUDTRAIL_FINGERPRINT_KEY,
    retention: {
      eventsDays: e.AUDTRAIL_RETENTION_DAYS,
      rejectedDays: e.AUDTRAIL_REJECTED_RETENTION_DAYS,
      findingsDays: e.AUDTRAIL_FINDINGS_RETENTION_DAYS,
    },
    detectIntervalS: e.AUDTRAIL_DETECT_INTERVAL_S,
    publicUrl: e.AUDTRAIL_PUBLIC_URL?.replace(/\/+$/, ''),
    alerts: {
      webhookUrl: e.AUDTRAIL_ALERT_WEBHOOK_URL,
      webhookSecret: e.AUDTRAIL_ALERT_WEBHOOK_SECRET,
      slackWebhookUrl: e.AUDTRAIL_SLACK_WEBHOOK_URL,
      minSeverity: e.AUDTRAIL_ALERT_MIN_SEVERITY,
    },
    integrity: {
      enabled: e.AUDTRAIL_INTEGRITY === 'on',
      signingKey: e.AUDTRAIL_INTEGRITY_SIGNING_KEY,
      verifyKeysFile: e.AUDTRAIL_INTEGRITY_VERIFY_KEYS,
      checkpointEvents: e.AUDTRAIL_INTEGRITY_CHECKPOINT_EVENTS,
      checkpointSeconds: e.AUDTRAIL_INTEGRITY_CHECKPOINT_SECONDS,
      checkpointFile: e.AUDTRAIL_INTEGRITY_CHECKPOINT_FILE,
      checkpointWebhook: e.AUDTRAIL_INTEGRITY_CHECKPOINT_WEBHOOK,
    },
  }
}
