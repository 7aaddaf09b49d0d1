import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'
import { BROKERS, createTopic, testKafka } from '../helpers/kafka.js'
import { seededRandom } from '../helpers/random.js'

// The compiled CLI, as users run it (`npm test` builds dist/ before the suite).
const BIN = fileURLToPath(new URL('../../bin/audtrail.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'audtrail-replay-'))

/** Run the CLI without blocking this process (the ingest endpoint under test runs in it). */
function audtrail(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Lines the pipeline refuses, each with (a part of) the reason it gives. */
const BAD: [Buffer, RegExp][] = [
  [Buffer.from('not json'), /payload is not valid JSON/],
  [Buffer.from('{"event_type":"x"}'), /event_type|schema_version|\(root\)/],
  [Buffer.from('[1,2,3]'), /\(root\): must be a JSON object/],
  [Buffer.from(`${'['.repeat(20_000)}${']'.repeat(20_000)}`), /\(root\): must be a JSON object/],
  [
    Buffer.concat([
      Buffer.from(JSON.stringify(presentedEvent()).replace('agent-7', 'agent-@').split('@')[0]!),
      Buffer.from([0xff]),
      Buffer.from(JSON.stringify(presentedEvent()).replace('agent-7', 'agent-@').split('@')[1]!),
    ]),
    /payload is not valid UTF-8/,
  ],
  [Buffer.from(JSON.stringify(presentedEvent({ decision: 'maybe' }))), /decision/],
  [Buffer.from(JSON.stringify(presentedEvent({ tenant: 'other' }))), /not the caller's tenant/],
]

interface Layout {
  file: string
  /** 1-based numbers of the lines that must be reported, with the reason expected. */
  bad: Map<number, RegExp>
  valid: string[]
}

/** A file of `n` items: valid events and bad lines at random, blank and CRLF lines between. */
function layout(seed: number, n: number, badShare: number): Layout {
  const rnd = seededRandom(seed)
  const parts: Buffer[] = []
  const bad = new Map<number, RegExp>()
  const valid: string[] = []
  let line = 0
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.1) {
      parts.push(Buffer.from(rnd() < 0.5 ? '\n' : '  \r\n'))
      line += 1
    }
    line += 1
    const eol = Buffer.from(rnd() < 0.3 ? '\r\n' : '\n')
    if (rnd() < badShare) {
      const [bytes, reason] = BAD[Math.floor(rnd() * BAD.length)]!
      bad.set(line, reason)
      parts.push(bytes, eol)
    } else {
      const event = presentedEvent()
      valid.push(event.event_id as string)
      parts.push(Buffer.from(JSON.stringify(event)), eol)
    }
  }
  const file = join(dir, `replay-${seed}-${randomUUID()}.ndjson`)
  // The last line without its line feed, half of the time.
  const body = Buffer.concat(parts)
  writeFileSync(file, rnd() < 0.5 ? body.subarray(0, body.length - 1) : body)
  return { file, bad, valid }
}

/** The `FILE:LINE: rejected: REASONS` lines of a run, by line number. */
function reported(stderr: string, file: string): Map<number, string> {
  const out = new Map<number, string>()
  for (const line of stderr.split('\n')) {
    if (!line.startsWith(`${file}:`)) continue
    const m = /^.*:(\d+): rejected: (.+)$/.exec(line)
    expect(m, line).not.toBeNull()
    expect(out.has(Number(m![1])), line).toBe(false)
    out.set(Number(m![1]), m![2]!)
  }
  return out
}

const sink = createMemorySink()
let app: FastifyInstance
let url: string
let keys: Awaited<ReturnType<typeof apiKeys>>
let token: string

beforeAll(async () => {
  keys = await apiKeys()
  token = await keys.token({ roles: ['ingest'], tenant: 'acme' })
  app = await testApp(keys, memoryIngest(sink))
  url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/v1/ingest`
})
afterAll(() => app.close())

const replay = (file: string, more: string[] = [], env: Record<string, string> = {}) =>
  audtrail(['replay', file, '--url', url, ...more], { AUDTRAIL_INGEST_TOKEN: token, ...env })

describe('audtrail replay against HTTP ingest', () => {
  it.each([
    // seed, items, share of bad lines (2 500 items: three requests of up to 1 000 lines)
    [1, 40, 0],
    [2, 40, 0.3],
    [3, 25, 1],
    [4, 2500, 0.05],
    [5, 300, 0.5],
  ])(
    'names every rejected line by its number and reason, and exits 3 when any (seed %i, %i items, %f bad)',
    async (seed, n, share) => {
      const { file, bad, valid } = layout(seed, n, share)
      const run = await replay(file)
      const lines = reported(run.stderr, file)
      expect([...lines.keys()].sort((a, b) => a - b)).toEqual([...bad.keys()].sort((a, b) => a - b))
      for (const [line, reason] of bad) expect(lines.get(line), `line ${line}`).toMatch(reason)
      expect(run.code).toBe(bad.size > 0 ? 3 : 0)
      const stored = new Set(sink.rows.map((r) => r.event_id))
      expect(valid.filter((id) => !stored.has(id))).toEqual([])
      const items = bad.size + valid.length
      expect(run.stderr).toMatch(
        new RegExp(
          `^replay: ${items} events \\(100\\.0%\\), \\d+/s${bad.size ? `, ${bad.size} rejected` : ''}$`,
          'm',
        ),
      )
      if (bad.size > 0)
        expect(run.stderr).toMatch(
          new RegExp(`^replay: ${bad.size} of ${items} lines rejected$`, 'm'),
        )
      else expect(run.stderr).not.toMatch(/rejected/)
    },
  )

  it('writes the rejections to --rejects OUT as JSON lines instead, and still exits 3', async () => {
    const { file, bad } = layout(6, 200, 0.2)
    const out = join(dir, `rejects-${randomUUID()}.ndjson`)
    const run = await replay(file, ['--rejects', out])
    expect(run.code).toBe(3)
    expect(reported(run.stderr, file).size).toBe(0)
    expect(run.stderr).toContain(`replay: ${bad.size} of `)
    expect(run.stderr).toContain(`(written to ${out})`)
    const written = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; reasons: string[] })
    expect(written.map((w) => w.line)).toEqual([...bad.keys()])
    for (const w of written) expect(w.reasons.join('; ')).toMatch(bad.get(w.line)!)
  })

  it('answers a replayed file again with its events already stored, and exits 0', async () => {
    const { file, valid } = layout(7, 30, 0)
    expect((await replay(file)).code).toBe(0)
    const again = await replay(file)
    expect(again.code).toBe(0)
    expect(again.stderr).toMatch(new RegExp(`, ${valid.length} already stored$`, 'm'))
  })

  it('refuses a line over 1 MiB without sending it, by its number, and sends the others', async () => {
    const event = presentedEvent()
    const file = join(dir, `big-${randomUUID()}.ndjson`)
    writeFileSync(file, `${'x'.repeat(2_000_000)}\n${JSON.stringify(event)}\n`)
    const run = await replay(file)
    expect(run.code).toBe(3)
    expect(reported(run.stderr, file)).toEqual(
      new Map([[1, 'payload of 2000000 bytes exceeds 1048576 bytes (not sent)']]),
    )
    expect(sink.rows.some((r) => r.event_id === event.event_id)).toBe(true)
  })

  it.each([
    [
      'no server on the port',
      async () => {
        const server = createServer()
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
        const port = (server.address() as AddressInfo).port
        await new Promise((r) => server.close(r))
        return `http://127.0.0.1:${port}/v1/ingest`
      },
      /cannot reach the ingest endpoint http:\/\/127\.0\.0\.1:\d+\/v1\/ingest: connect ECONNREFUSED/,
    ],
    [
      'a host that does not resolve',
      async () => 'http://audtrail-replay-test.invalid/v1/ingest',
      /cannot reach the ingest endpoint http:\/\/audtrail-replay-test\.invalid\/v1\/ingest: getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
    ],
  ])('names the URL and the cause when there is %s, and exits 1', async (_, target, message) => {
    const { file } = layout(8, 5, 0)
    const run = await audtrail(['replay', file, '--url', await target()])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(message)
    expect(run.stderr).toMatch(/stopped at line 1: no line from there on was answered/)
    expect(run.stderr).not.toMatch(/fetch failed|\bat .*\.js:\d+/)
  })

  it('names the answer of an endpoint that refuses the request, and exits 1', async () => {
    const { file } = layout(9, 5, 0)
    const run = await audtrail(['replay', file, '--url', url])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`the ingest endpoint ${url} answered HTTP 401 (ERR_AUTH_MISSING: `)
  })

  it('says where it stopped when the server goes away in the middle', async () => {
    // Answers the first request (1 000 lines) as ingest would, then drops every connection.
    let requests = 0
    const server: Server = createServer((req, res) => {
      requests += 1
      if (requests > 1) return req.socket.destroy()
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        const n = body.split('\n').length
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({
            accepted: n - 1,
            rejected: 1,
            results: Array.from({ length: n }, (_, index) =>
              index === 3
                ? { index, status: 'rejected', reasons: ['refused\u001b[2J here'] }
                : { index, status: 'accepted', event_id: 'x' },
            ),
          }),
        )
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const { file } = layout(10, 2500, 0)
      const port = (server.address() as AddressInfo).port
      const run = await audtrail(['replay', file, '--url', `http://127.0.0.1:${port}/v1/ingest`])
      expect(run.code).toBe(1)
      // The fourth line of the file's first request, with the server's escape made harmless.
      expect([...reported(run.stderr, file).values()]).toEqual(['refused\\u001b[2J here'])
      expect(run.stderr).toMatch(/stopped at line \d+: no line from there on was answered/)
      const stoppedAt = Number(/stopped at line (\d+)/.exec(run.stderr)![1])
      const firstSecond = readFileSync(file, 'utf8').split('\n')
      // The first line of the second request: the 1 001st non-blank line.
      let seen = 0
      const expected = firstSecond.findIndex((l) => l.trim() !== '' && ++seen === 1001) + 1
      expect(stoppedAt).toBe(expected)
      expect(run.stderr).toContain('replay: 1 of the lines answered were rejected')
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  })

  it.each([
    [
      ['replay', join(dir, 'missing.ndjson'), '--url', 'http://127.0.0.1:1/v1/ingest'],
      1,
      /cannot read .*missing\.ndjson: ENOENT/,
    ],
    [
      ['replay', join(dir, 'missing.ndjson'), '--url', 'ftp://example.com/'],
      2,
      /--url must be an http\(s\) URL/,
    ],
    [['replay', dir, '--url', 'http://127.0.0.1:1/v1/ingest'], 1, /cannot read .*: EISDIR/],
    [
      ['replay', BIN, '--url', 'ftp://example.com/'],
      2,
      /--url must be an http\(s\) URL \(got ftp:\/\/example\.com\/\)/,
    ],
    [['replay', BIN, '--url', 'not a url'], 2, /--url must be an http\(s\) URL/],
    [['replay'], 2, /replay takes exactly one FILE/],
    [['replay', BIN, '--nope'], 2, /Unknown option '--nope'/],
  ])('audtrail %j exits %i', async (args, code, message) => {
    const run = await audtrail(args)
    expect(run.stderr).toMatch(message)
    expect(run.code).toBe(code)
  })

  it('documents its output and exit codes in --help', async () => {
    const run = await audtrail(['replay', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/--rejects OUT/)
    for (const code of [0, 1, 2, 3]) expect(run.stdout).toMatch(new RegExp(`^  ${code}  `, 'm'))
  })
})

describe('audtrail replay to Kafka', () => {
  it('produces every line, bytes unchanged, and says the consumer validates them', async () => {
    const kafka = testKafka()
    const topic = await createTopic(kafka, 1)
    const { file, bad, valid } = layout(11, 50, 0.2)
    const run = await audtrail(['replay', file], {
      KAFKA_BROKERS: BROKERS.join(','),
      AUDTRAIL_KAFKA_TOPIC: topic,
    })
    expect(run.stderr).toMatch(/the consumer validates the events/)
    expect(run.code).toBe(0)
    const consumer = kafka.consumer({ groupId: `replay-${randomUUID()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const values: Buffer[] = []
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value!)
          if (values.length === bad.size + valid.length) resolve()
        },
      })
    })
    await consumer.disconnect()
    const lines = readFileSync(file)
      .toString('latin1')
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.trim() !== '')
    expect(values.map((v) => v.toString('latin1'))).toEqual(lines)
  })

  it('names the brokers and the cause when Kafka cannot be reached, and exits 1', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    await new Promise((r) => server.close(r))
    const { file } = layout(12, 3, 0)
    const run = await audtrail(['replay', file], { KAFKA_BROKERS: `127.0.0.1:${port}` })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(new RegExp(`cannot reach Kafka at 127\\.0\\.0\\.1:${port}: .+`))
  }, 120_000)
})
