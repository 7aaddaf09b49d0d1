import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js'
import { KAFKA_VERSION } from '../scripts/kafka.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
type Service = {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
}
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}
const audtrailServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined)

/**
 * Compose interpolation with an empty environment: `${NAME:-default}` gives the default;
 * `${NAME:?message}` (required from the user) gives a stand-in value of the right kind.
 */
function interpolate(value: string): string {
  return String(value)
    .replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_, name: string) =>
      /_(URL|ISSUER)$/.test(name) ? 'https://idp.example.com/jwks' : 'x',
    )
    .replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_, __, fallback) => fallback ?? '')
}

describe('docker-compose.yml', () => {
  it('runs the same Kafka version as the local scripts, in KRaft mode', () => {
    expect(compose.services.kafka!.image).toBe(`apache/kafka:${KAFKA_VERSION}`)
    expect(compose.services.kafka!.environment!.KAFKA_PROCESS_ROLES).toBe('broker,controller')
  })

  it('runs a ClickHouse server of 24.8 or newer', () => {
    const tag = compose.services.clickhouse!.image!.split(':')[1]!
    const [major, minor] = tag.split('.').map(Number) as [number, number]
    expect(major * 100 + minor).toBeGreaterThanOrEqual(24 * 100 + 8)
  })

  it('provisions Grafana from folders that exist in the repository', () => {
    const volumes = compose.services.grafana!.volumes!
    expect(volumes.length).toBeGreaterThan(0)
    for (const volume of volumes) {
      const host = volume.split(':')[0]!
      expect(existsSync(`${ROOT}${host.replace(/^\.\//, '')}`), host).toBe(true)
    }
  })

  it('has one audtrail service per command that exists, each built from the Dockerfile', () => {
    expect(existsSync(`${ROOT}Dockerfile`)).toBe(true)
    expect(audtrailServices.map(([, s]) => s.command?.[0]).sort()).toEqual([
      'api',
      'consume',
      'detect',
      'migrate',
      'serve',
    ])
  })

  it.each(audtrailServices)(
    '%s sets only configuration variables, with valid values',
    (_, service) => {
      const env = service.environment ?? {}
      expect(Object.keys(env).length).toBeGreaterThan(0)
      for (const name of Object.keys(env)) expect(CONFIG_VARIABLES, name).toContain(name)
      const config = loadConfig(
        Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)])),
      )
      // Every audtrail service talks to the compose ClickHouse server and Kafka, never embedded.
      expect(config.clickhouse.url).toBe('http://clickhouse:8123')
      expect(config.kafka?.brokers).toEqual(['kafka:9092'])
      for (const dependency of ['clickhouse', 'kafka'])
        expect(service.depends_on?.[dependency]?.condition).toBe('service_healthy')
    },
  )
})
