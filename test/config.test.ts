import { describe, expect, it } from 'vitest'
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return [...(err as ConfigError).problems]
  }
  return []
}

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './data',
      clickhouse: { database: 'audtrail', url: undefined },
      kafka: undefined,
      retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 },
      detectIntervalS: 60,
      alerts: { minSeverity: 'medium' },
    })
  })

  it('reads every variable of the contract', () => {
    for (const name of [
      'AUDTRAIL_HOST',
      'AUDTRAIL_PORT',
      'AUDTRAIL_DATA_DIR',
      'CLICKHOUSE_URL',
      'CLICKHOUSE_USER',
      'CLICKHOUSE_PASSWORD',
      'CLICKHOUSE_DATABASE',
      'KAFKA_BROKERS',
      'AUDTRAIL_JWKS_FILE',
      'AUDTRAIL_JWKS_URL',
      'AUDTRAIL_API_ISSUER',
      'AUDTRAIL_API_AUDIENCE',
      'AUDTRAIL_RESOURCES_FILE',
      'AUDTRAIL_FINGERPRINT_KEY',
      'AUDTRAIL_RETENTION_DAYS',
      'AUDTRAIL_DETECT_INTERVAL_S',
      'AUDTRAIL_ALERT_WEBHOOK_URL',
      'AUDTRAIL_ALERT_WEBHOOK_SECRET',
      'AUDTRAIL_SLACK_WEBHOOK_URL',
      'AUDTRAIL_ALERT_MIN_SEVERITY',
    ])
      expect(CONFIG_VARIABLES).toContain(name)
  })

  it('parses a server deployment', () => {
    const config = loadConfig({
      AUDTRAIL_PORT: '9000',
      CLICKHOUSE_URL: 'http://clickhouse:8123',
      CLICKHOUSE_USER: 'audtrail',
      CLICKHOUSE_PASSWORD: 'pw',
      CLICKHOUSE_CLUSTER: 'main',
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
      AUDTRAIL_RETENTION_DAYS: '90',
      AUDTRAIL_ALERT_MIN_SEVERITY: 'high',
    })
    expect(config.port).toBe(9000)
    expect(config.clickhouse).toEqual({
      url: 'http://clickhouse:8123',
      user: 'audtrail',
      password: 'pw',
      database: 'audtrail',
      cluster: 'main',
    })
    expect(config.kafka).toEqual({
      brokers: ['kafka-1:9092', 'kafka-2:9092'],
      topic: 'audtrail.events.v1',
      groupId: 'audtrail-consumers',
    })
    expect(config.retention.eventsDays).toBe(90)
    expect(config.alerts.minSeverity).toBe('high')
  })

  it('treats empty strings as unset', () => {
    expect(loadConfig({ CLICKHOUSE_URL: '', AUDTRAIL_PORT: '' }).port).toBe(8080)
  })

  it('reports every problem together, each naming its variable', () => {
    const problems = problemsOf({
      AUDTRAIL_PORT: 'eighty',
      CLICKHOUSE_URL: 'ftp://example.com',
      CLICKHOUSE_DATABASE: 'audtrail; DROP TABLE events',
      KAFKA_BROKERS: 'no-port',
      AUDTRAIL_RETENTION_DAYS: '0',
      AUDTRAIL_ALERT_MIN_SEVERITY: 'urgent',
      AUDTRAIL_FINGERPRINT_KEY: 'short',
    })
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'AUDTRAIL_ALERT_MIN_SEVERITY',
      'AUDTRAIL_FINGERPRINT_KEY',
      'AUDTRAIL_PORT',
      'AUDTRAIL_RETENTION_DAYS',
      'CLICKHOUSE_DATABASE',
      'CLICKHOUSE_URL',
      'KAFKA_BROKERS',
    ])
  })

  it('refuses contradictory settings', () => {
    expect(
      problemsOf({ AUDTRAIL_JWKS_FILE: './jwks.json', AUDTRAIL_JWKS_URL: 'https://as/jwks' }),
    ).toEqual(['AUDTRAIL_JWKS_URL: set either AUDTRAIL_JWKS_FILE or AUDTRAIL_JWKS_URL, not both'])
    expect(problemsOf({ CLICKHOUSE_CLUSTER: 'main' })).toEqual([
      'CLICKHOUSE_CLUSTER: a cluster needs a ClickHouse server: set CLICKHOUSE_URL too',
    ])
  })

  it('never echoes a secret in its messages', () => {
    const secret = 'tiny'
    const err = (() => {
      try {
        loadConfig({
          AUDTRAIL_FINGERPRINT_KEY: secret,
          CLICKHOUSE_PASSWORD: 'pw',
          AUDTRAIL_PORT: 'x',
        })
      } catch (e) {
        return e as ConfigError
      }
    })()
    expect(err?.message).toContain('AUDTRAIL_FINGERPRINT_KEY')
    expect(err?.message).not.toContain(secret)
  })
})
