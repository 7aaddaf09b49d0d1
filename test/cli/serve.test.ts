import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import { presentedEvent } from '../helpers/events.js'
import { BROKERS, testKafka, until } from '../helpers/kafka.js'

const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))
const children: ChildProcess[] = []

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

/** Start `audtrail serve` (or another server command) on a free port; resolves with its URL. */
function serve(
  env: Record<string, string>,
  command = 'serve',
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, command, '--port', '0'], {
    env: {
      PATH: process.env.PATH ?? '',
      AUDTRAIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'audtrail-serve-')),
      AUDTRAIL_LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const match = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (match) resolve({ url: match[1]!, child })
    })
    child.stderr!.on('data', (d) => (out += d))
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)))
  })
}

const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

describe('audtrail serve and replay', () => {
  it('ingests a replayed NDJSON file on the embedded default and stops cleanly on SIGTERM', async () => {
    const { url, child } = await serve({})
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    const file = join(mkdtempSync(join(tmpdir(), 'audtrail-replay-')), 'events.ndjson')
    const events = Array.from({ length: 2500 }, () => presentedEvent())
    writeFileSync(file, [...events.map((e) => JSON.stringify(e)), 'not json', ''].join('\n'))

    const replay = spawnSync(process.execPath, [BIN, 'replay', file, '--url', `${url}/v1/ingest`], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    })
    // The refused line is named, and makes the exit code 3 (see test/cli/replay.test.ts).
    expect(replay.status).toBe(3)
    expect(replay.stderr).toContain(`${file}:2501: rejected: payload is not valid JSON\n`)
    expect(replay.stderr).toMatch(/replay: 2501 events \(100\.0%\), \d+\/s, 1 rejected\n/)
    expect(replay.stderr).toMatch(/replay: 1 of 2501 lines rejected\n$/)

    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/^audtrail_events_consumed_total 2501$/m)
    expect(metrics).toMatch(/^audtrail_events_rejected_total 1$/m)
    child.kill('SIGTERM')
    expect(await exitCode(child)).toBe(0)
  })

  it('refuses to open the API off loopback without API authentication', () => {
    const result = spawnSync(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env.PATH ?? '', AUDTRAIL_HOST: '0.0.0.0' },
      encoding: 'utf8',
    })
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/AUDTRAIL_HOST: 0\.0\.0\.0 is not a loopback address/)
  })

  it('with Kafka as the transport, produces ingested events and stores them through its consumer', async () => {
    const topic = `audtrail.test.${randomUUID()}`
    const migrate = spawnSync(process.execPath, [BIN, 'migrate'], {
      env: {
        PATH: process.env.PATH ?? '',
        AUDTRAIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'audtrail-mig-')),
        KAFKA_BROKERS: BROKERS.join(','),
        AUDTRAIL_KAFKA_TOPIC: topic,
      },
      encoding: 'utf8',
    })
    expect(migrate.status).toBe(0)
    expect(migrate.stdout).toMatch(
      new RegExp(`created Kafka topics: ${topic.replace(/\./g, '\\.')}`),
    )
    const admin = testKafka().admin()
    await admin.connect()
    expect(await admin.listTopics()).toEqual(
      expect.arrayContaining([topic, 'audtrail.events.dlq.v1']),
    )
    await admin.disconnect()

    const { url } = await serve({
      KAFKA_BROKERS: BROKERS.join(','),
      AUDTRAIL_KAFKA_TOPIC: topic,
      AUDTRAIL_CONSUMER_GROUP: `serve-${randomUUID()}`,
    })
    const events = Array.from({ length: 50 }, () => presentedEvent())
    const res = await fetch(`${url}/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events),
    })
    expect(((await res.json()) as { accepted: number }).accepted).toBe(50)
    await until(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text()
        return /^audtrail_events_inserted_total 50$/m.test(text)
      },
      'the in-process consumer to store the events',
      60_000,
    )
  })

  it('runs the query API alone with `audtrail api`', async () => {
    const { url, child } = await serve({}, 'api')
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    const rules = (await (await fetch(`${url}/v1/rules`)).json()) as { items: { id: string }[] }
    expect(rules.items.map((r) => r.id)).toEqual(RULES.map((r) => r.id))
    expect((await fetch(`${url}/v1/ingest`, { method: 'POST' })).status).toBe(404)
    child.kill('SIGTERM')
    expect(await exitCode(child)).toBe(0)
  })
})
