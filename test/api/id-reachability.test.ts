/**
 * Every id the event contract accepts can be looked up: a token key (jti) at the contract's
 * longest, made of characters that need percent-encoding, reaches GET /v1/tokens/{key} and the
 * `token` filter, and client and subject ids reach their filters, in the stored form.
 */
import { request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorSchema, MAX_PARAM_LENGTH } from '../../src/api/errors.js'
import { parseEvent } from '../../src/events/parse.js'
import { LIMITS } from '../../src/events/schema.js'
import { toEventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('api_id_reachability')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

/** A string of exactly LIMITS.id UTF-16 code units from `alphabet`, picked by a seeded PRNG. */
function idFrom(alphabet: string[], seed: number): string {
  let state = seed
  let out = ''
  while (out.length < LIMITS.id) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    const next = alphabet[state % alphabet.length]!
    if (out.length + next.length > LIMITS.id) break
    out += next
  }
  return out.padEnd(LIMITS.id, 'z')
}

const ASCII_ESCAPED = [...` /?#%&+=;,:@!$'"()*[]\\<>{}|^\`~.`]
const IDS: [string, string][] = [
  ['256 ASCII characters that all need escaping', idFrom(ASCII_ESCAPED, 1)],
  ['256 three-byte UTF-8 characters (the longest encoding)', '€'.repeat(LIMITS.id)],
  ['128 astral characters (256 code units)', '😀'.repeat(LIMITS.id / 2)],
  ['mixed escapes, UTF-8 and plain characters', idFrom([...ASCII_ESCAPED, 'é', '€', 'a', '7'], 7)],
  ['dot segments', '..'],
  ['a single dot', '.'],
  ['a percent sign and hex digits', '%2E%2F%41'],
  ['slashes only', '/'.repeat(LIMITS.id)],
  ['plain, at the limit', 'k'.repeat(LIMITS.id)],
]

/** A path segment for `key`: every character a router or client could read as syntax escaped. */
const segment = (key: string) =>
  encodeURIComponent(key).replace(/[.!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)

/** One stored presentation whose token, client and subject are `id` (tenant acme). */
function eventWith(id: string) {
  return presentedEvent({
    client_id: id,
    subject: id,
    token: { jti: id, aud: ['https://mcp.example.com/mcp'], format: 'opaque' },
  })
}

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  const rows = IDS.map(([name, id]) => {
    const parsed = parseEvent(eventWith(id))
    if (!parsed.ok) throw new Error(`the contract refuses ${name}: ${parsed.reasons.join('; ')}`)
    return toEventRow(parsed.event, { receivedAt: Date.now() })
  })
  await insertEventRows(storage, rows)
  keys = await apiKeys()
  app = await testApp(keys, { storage })
  await app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

async function get(url: string) {
  const token = await keys.token({ roles: ['viewer'] })
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
}

/**
 * A GET over HTTP with the path sent as it is: WHATWG URL clients (inject, fetch) resolve `.` and
 * `..` segments, `%2E` spelt ones included, before sending; a server sees what this sends.
 */
async function rawGet(path: string): Promise<{ statusCode: number; body: string }> {
  const token = await keys.token({ roles: ['viewer'] })
  const { port } = app.server.address() as { port: number }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ statusCode: res.statusCode!, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('ids the contract accepts', () => {
  it('fit in a path parameter however they are encoded', () => {
    for (const [, id] of IDS) expect(segment(id).length).toBeLessThanOrEqual(MAX_PARAM_LENGTH)
    expect(segment('€'.repeat(LIMITS.id)).length).toBe(MAX_PARAM_LENGTH)
  })

  it.each(IDS)('%s: GET /v1/tokens/{key} answers its timeline', async (_, id) => {
    const res = await rawGet(`/v1/tokens/${segment(id)}`)
    expect(res.statusCode, res.body).toBe(200)
    const body = JSON.parse(res.body)
    expect(body.token_key).toBe(id)
    expect(body.presentations).toHaveLength(1)
    expect(body.presentations[0].event.token.jti).toBe(id)
  })

  it.each(IDS)('%s: the token, client and subject filters find it', async (_, id) => {
    for (const filter of ['token', 'client', 'subject']) {
      const res = await get(`/v1/events?${filter}=${segment(id)}`)
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(200)
      const items = res.json().items as { event: { token: { jti: string } } }[]
      expect(items.map((i) => i.event.token.jti)).toEqual([id])
    }
  })

  it.each([
    ['one code unit over the limit', 'k'.repeat(LIMITS.id + 1)],
    ['a control character', `at-1\u0001`],
  ])('%s: a 400 in the error model, as at ingest', async (_, id) => {
    expect(parseEvent(eventWith(id)).ok).toBe(false)
    for (const url of [`/v1/tokens/${segment(id)}`, `/v1/events?token=${segment(id)}`]) {
      const res = await get(url)
      expect(res.statusCode).toBe(400)
      expect(Object.keys(res.json()).sort()).toEqual(['code', 'message', 'statusCode'])
      expect(ErrorSchema.parse(res.json()).code).toBe('ERR_BAD_REQUEST')
    }
  })

  it('answers a key no event holds with a 404 in the error model', async () => {
    const res = await get(`/v1/tokens/${segment('€'.repeat(LIMITS.id - 1) + '$')}`)
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({
      statusCode: 404,
      code: 'ERR_NOT_FOUND',
      message: 'no events for this token',
    })
  })
})
