import { describe, expect, it } from 'vitest'
import { MAX_PAYLOAD_BYTES } from '../../src/pipeline/decode.js'
import { processPayload, processValue } from '../../src/pipeline/process.js'
import { toRejectedRow, MAX_STORED_PAYLOAD_BYTES } from '../../src/events/rejected-row.js'
import { presentedEvent } from '../helpers/events.js'
import { hostileCorpus } from '../helpers/hostile.js'

const ctx = { receivedAt: Date.now(), retentionDays: 400 }

describe('processPayload', () => {
  const corpus = hostileCorpus()

  it('has a hostile corpus of at least 200 cases', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200)
  })

  it.each(corpus.map((c) => [c.name, c.payload] as const))(
    'refuses %s with a reason',
    (_, payload) => {
      const result = processPayload(payload, ctx)
      expect(result.kind).toBe('dlq')
      if (result.kind === 'dlq') {
        expect(result.reasons.length).toBeGreaterThan(0)
        for (const reason of result.reasons) expect(reason).not.toMatch(/[\n\r]/)
      }
    },
  )

  // Kafka hands over bytes, where a payload without a \u escape skips the lone-surrogate scan.
  it.each(
    corpus.flatMap((c) => (typeof c.payload === 'string' ? [[c.name, c.payload] as const] : [])),
  )('refuses %s as UTF-8 bytes too', (_, payload) => {
    expect(processPayload(Buffer.from(payload, 'utf8'), ctx).kind).toBe('dlq')
  })

  it('refuses a lone surrogate escaped in bytes, and bytes that encode one', () => {
    const escaped = JSON.stringify(presentedEvent({ subject: 'a\ud800b' }))
    expect(escaped).toContain('\\ud800')
    expect(processPayload(Buffer.from(escaped), ctx)).toMatchObject({
      kind: 'dlq',
      reasons: ['subject: not well-formed Unicode (lone surrogate)'],
    })
    // U+D800 as UTF-8 would be ED A0 80: not UTF-8 at all.
    const encoded = Buffer.from(JSON.stringify(presentedEvent({ subject: 'a?b' })))
    encoded.set([0xed, 0xa0, 0x80], encoded.indexOf('a?b') + 1)
    expect(processPayload(encoded, ctx)).toEqual({
      kind: 'dlq',
      reasons: ['payload is not valid UTF-8'],
    })
  })

  it('accepts characters outside the BMP, written out or escaped as a pair', () => {
    const literal = JSON.stringify(presentedEvent({ subject: 'user-\u{1F600}' }))
    expect(literal).not.toContain('\\u')
    expect(processPayload(Buffer.from(literal), ctx).kind).toBe('ok')
    const escaped = literal.replace('\u{1F600}', '\\ud83d\\ude00')
    expect(escaped).toContain('\\ud83d')
    const result = processPayload(Buffer.from(escaped), ctx)
    expect(result.kind === 'ok' && result.row.subject).toBe('user-\u{1F600}')
  })

  it('refuses a payload over the size cap before parsing it', () => {
    const huge = JSON.stringify({ ...presentedEvent(), blob: 'x'.repeat(MAX_PAYLOAD_BYTES) })
    expect(processPayload(huge, ctx)).toEqual({
      kind: 'dlq',
      reasons: [`payload of ${Buffer.byteLength(huge)} bytes exceeds ${MAX_PAYLOAD_BYTES} bytes`],
    })
  })

  it('accepts a valid event and enriches it into a row', () => {
    const event = presentedEvent({ resource: 'HTTPS://MCP.example.com/mcp' })
    const result = processPayload(Buffer.from(JSON.stringify(event)), ctx)
    expect(result.kind).toBe('ok')
    if (result.kind === 'ok') {
      expect(result.row.event_id).toBe(event.event_id)
      expect(result.row.resource).toBe('HTTPS://MCP.example.com/mcp')
      expect(result.row.resource_canonical).toBe('https://mcp.example.com/mcp')
      expect(result.row.aud_match).toBe('equivalent')
      expect(result.row.token_key).toBe((event.token as { jti: string }).jti)
    }
  })

  it('stores SQL and shell metacharacters verbatim where the contract allows them', () => {
    const hostile = `'; DROP TABLE events; -- $(rm -rf /) <script>`
    const result = processValue(presentedEvent({ client_id: hostile, subject: hostile }), ctx)
    expect(result.kind).toBe('ok')
    if (result.kind === 'ok') expect(result.row.client_id).toBe(hostile)
  })

  it('refuses events beyond the clock and retention bounds', () => {
    const future = new Date(ctx.receivedAt + 2 * 86_400_000).toISOString()
    const old = new Date(ctx.receivedAt - 401 * 86_400_000).toISOString()
    expect(processValue(presentedEvent({ occurred_at: future }), ctx)).toMatchObject({
      kind: 'dlq',
      reasons: ['occurred_at: more than 24 h ahead of the receiving clock'],
    })
    expect(processValue(presentedEvent({ occurred_at: old }), ctx)).toMatchObject({
      kind: 'dlq',
      reasons: ['occurred_at: older than the retention period (400 days)'],
    })
  })

  it("refuses an event of another tenant than the caller's", () => {
    expect(
      processValue(presentedEvent({ tenant: 'other' }), { ...ctx, tenant: 'acme' }),
    ).toMatchObject({
      kind: 'dlq',
      reasons: ["tenant: 'other' is not the caller's tenant"],
      tenant: 'other',
    })
  })
})

describe('toRejectedRow', () => {
  it('caps the stored payload and keeps its size and digest', () => {
    const payload = 'x'.repeat(MAX_STORED_PAYLOAD_BYTES + 10)
    const row = toRejectedRow({
      transport: 'kafka',
      sourceRef: 'audtrail.events.v1/0/42',
      payload,
      reasons: ['payload is not valid JSON'],
      receivedAt: Date.parse('2026-11-22T10:00:00.000Z'),
    })
    expect(row.payload).toHaveLength(MAX_STORED_PAYLOAD_BYTES)
    expect(row).toMatchObject({
      payload_bytes: MAX_STORED_PAYLOAD_BYTES + 10,
      payload_truncated: true,
      tenant: 'default',
      received_at: '2026-11-22 10:00:00.000',
    })
    expect(row.payload_sha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('keeps binary payloads as base64 and derives the id from the source', () => {
    const input = {
      transport: 'kafka' as const,
      sourceRef: 'audtrail.events.v1/1/7',
      payload: Buffer.from([0xff, 0xfe, 0x00]),
      reasons: ['payload is not valid UTF-8'],
      receivedAt: 0,
    }
    const row = toRejectedRow(input)
    expect(row.payload).toBe('base64://4A')
    expect(toRejectedRow({ ...input, receivedAt: 5 }).rejection_id).toBe(row.rejection_id)
    expect(toRejectedRow({ ...input, sourceRef: 'audtrail.events.v1/1/8' }).rejection_id).not.toBe(
      row.rejection_id,
    )
  })
})
