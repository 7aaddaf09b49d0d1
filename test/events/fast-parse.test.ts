/**
 * The compiled fast path (src/events/fast-parse.ts) against zod, differentially: whatever the
 * fast path accepts, zod accepts with the very same output (values and key order), and
 * parseEvent gives the same answer (event or reasons) with the fast path as without it, on the
 * hostile corpus, the contract's examples, and generated events, valid and near-valid.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileFastPaths, fastParse } from '../../src/events/fast-parse.js'
import { parseEvent } from '../../src/events/parse.js'
import { AuditEventSchema, EVENT_TYPES, LIMITS } from '../../src/events/schema.js'
import { decodePayload } from '../../src/pipeline/decode.js'
import { hostileCorpus } from '../helpers/hostile.js'
import { HOSTILE } from '../helpers/hostile-shapes.js'
import { presentedEvent } from '../helpers/events.js'

const EXAMPLES = new URL('../../schemas/examples/', import.meta.url).pathname
const examples = (kind: 'valid' | 'invalid') =>
  readdirSync(join(EXAMPLES, kind))
    .filter((f) => f.endsWith('.json'))
    .map((f) => readFileSync(join(EXAMPLES, kind, f), 'utf8'))

/** Every key of every object, in order: two outputs equal here were built in the same order. */
function keyOrder(value: unknown): string {
  if (value === null || typeof value !== 'object') return ''
  if (Array.isArray(value)) return `[${value.map(keyOrder).join(',')}]`
  return `{${Object.entries(value)
    .map(([k, v]) => `${k}:${keyOrder(v)}`)
    .join(',')}}`
}

/** How many of the values given so far the fast path took (so that no property holds vacuously). */
let taken = 0

/** How deep the text's brackets nest (the hostile corpus nests 20 000 deep). */
function nesting(text: string): number {
  let depth = 0
  let most = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{' || c === '[') most = Math.max(most, ++depth)
    else if (c === '}' || c === ']') depth--
  }
  return most
}

/** The differential claim for one JSON text (each side parses its own copy). */
function agree(text: string): void {
  const fast = fastParse(JSON.parse(text) as Record<string, unknown>)
  if (fast !== undefined) {
    taken++
    const zod = AuditEventSchema.safeParse(JSON.parse(text))
    expect(zod.success).toBe(true)
    // Deeply nested values (in undeclared members: no schema reaches inside) are compared by
    // their place only: the comparisons recurse.
    if (nesting(text) > 64) expect(Object.keys(fast)).toEqual(Object.keys(zod.data!))
    else {
      // Node's strict deep equality (vitest's would compare an own `constructor` member as the
      // objects' constructors).
      if (!isDeepStrictEqual(fast, zod.data)) expect(fast).toStrictEqual(zod.data)
      expect(keyOrder(fast)).toBe(keyOrder(zod.data))
    }
  }
  const withFast = parseEvent(JSON.parse(text), { json: true })
  const withoutFast = parseEvent(JSON.parse(text))
  if (nesting(text) > 64 && withFast.ok) expect(withoutFast.ok).toBe(true)
  else if (!isDeepStrictEqual(withFast, withoutFast)) expect(withFast).toStrictEqual(withoutFast)
  if (withFast.ok && nesting(text) <= 64)
    expect(keyOrder(withFast.event)).toBe(keyOrder(withoutFast.ok && withoutFast.event))
}

/** The payload's JSON text, when it decodes (some are nested too deep to write out again). */
const textOf = (payload: string | Buffer): string | undefined =>
  decodePayload(payload).ok
    ? typeof payload === 'string'
      ? payload
      : payload.toString('utf8')
    : undefined

describe('compiled fast path', () => {
  it('has a validator for every event type (the schema holds nothing it cannot translate)', () => {
    const paths = compileFastPaths()
    for (const type of EVENT_TYPES) expect(paths.get(type)).toHaveProperty('validate')
  })

  it('takes every valid example and the bench-shaped events, with zod output', () => {
    taken = 0
    const valid = [...examples('valid'), JSON.stringify(presentedEvent())]
    for (const text of valid) agree(text)
    expect(taken).toBe(valid.length)
  })

  it('refuses every invalid example (zod says why)', () => {
    for (const text of examples('invalid')) {
      expect(fastParse(JSON.parse(text))).toBeUndefined()
      agree(text)
    }
  })

  it('agrees with zod on the hostile corpus', () => {
    let compared = 0
    for (const { payload } of [...hostileCorpus(), ...HOSTILE.map((h) => ({ payload: h.text }))]) {
      const text = textOf(payload)
      if (text === undefined) continue
      const value: unknown = JSON.parse(text)
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue
      agree(text)
      compared++
    }
    expect(compared).toBeGreaterThan(50)
  })

  // ---- generated events -------------------------------------------------------------------

  /** Strings near what the contract checks: limits in UTF-16 units, astral characters, controls. */
  const tricky = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.constantFrom(
      '',
      'a',
      '\u0000',
      'a\u007f',
      'tab\there',
      'x'.repeat(LIMITS.id),
      'x'.repeat(LIMITS.id + 1),
      '\u{1F600}'.repeat(LIMITS.id / 2),
      '\u{1F600}'.repeat(LIMITS.id / 2 + 1),
      '\u{1F600}'.repeat(LIMITS.uri / 2 + 1),
      'https://mcp.example.com/mcp',
      '2026-12-07T10:00:00.000Z',
      '2026-12-07T10:00:00Z',
      '2026-02-29T10:00:00.000Z',
      '2028-02-29T10:00:00.000Z',
      '2026-12-07T10:00:00.000+00:00',
      '10.0.0.1',
      '10.0.0.256',
      '::1',
      '::ffff:10.0.0.1',
      '1::2::3',
      'fe80::1%eth0',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '6f1c1d6e-9b1a-4c36-8d0e-2f6e0c3c9a10',
      '6f1c1d6e-9b1a-0c36-8d0e-2f6e0c3c9a10',
      '6F1C1D6E-9B1A-4C36-8D0E-2F6E0C3C9A10',
      'A'.repeat(43),
      'A'.repeat(42) + '=',
      'POST',
      'mcp_server',
      'token.presented',
      'default',
      '-tenant',
      'a'.repeat(64),
      'a'.repeat(65),
    ),
  )
  const leaf = fc.oneof(
    tricky,
    fc.integer({ min: -2, max: 700 }),
    fc.constantFrom(0, -0, 1, 1.5, 253_402_300_799, 253_402_300_800, 2 ** 53, 1e300, -1),
    fc.boolean(),
    fc.constant(null),
    fc.array(tricky, { maxLength: 3 }),
    // Fresh each time: the edits below change the objects they are given.
    fc.constant(null).map(() => []),
    fc.constant(null).map(() => ({})),
    fc.dictionary(tricky, tricky, { maxKeys: 3 }),
  )

  /** All the paths to values in an object (nested objects and array items included). */
  function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
    if (value === null || typeof value !== 'object') return [at]
    const entries = Array.isArray(value)
      ? value.map((v, i) => [i, v] as const)
      : Object.entries(value)
    return [at, ...entries.flatMap(([k, v]) => paths(v, [...at, k]))]
  }

  type Edit =
    | { kind: 'set'; pick: number; value: unknown }
    | { kind: 'delete'; pick: number }
    | { kind: 'add'; pick: number; key: string; value: unknown }

  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), pick: fc.nat(), value: leaf }),
    fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
    fc.record({
      kind: fc.constant('add' as const),
      pick: fc.nat(),
      key: fc.oneof(
        tricky,
        fc.constantFrom('token', 'attributes', 'tenant', 'presented_aud', 'cnf', 'extra', '0'),
      ),
      value: leaf,
    }),
  )

  function applyEdit(event: Record<string, unknown>, e: Edit): void {
    const all = paths(event).filter((p) => p.length > 0)
    const path = all[e.pick % all.length]!
    let parent: Record<string | number, unknown> = event
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>
    const last = path[path.length - 1]!
    if (e.kind === 'set') parent[last] = e.value
    else if (e.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1)
      else delete parent[last]
    } else {
      const target = parent[last]
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        (target as Record<string, unknown>)[e.key] = e.value
      else parent[e.key] = e.value
    }
  }

  const seeds = [...examples('valid'), JSON.stringify(presentedEvent())]

  it('agrees with zod on generated near-valid events (1 to 3 edits of a valid one)', () => {
    taken = 0
    let runs = 0
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        (seed, edits) => {
          const event = JSON.parse(seeds[seed]!) as Record<string, unknown>
          for (const e of edits) applyEdit(event, e)
          agree(JSON.stringify(event))
          runs++
        },
      ),
      { numRuns: 10_000 },
    )
    // Both sides of the claim were exercised: many edited events still valid, many not.
    expect(taken).toBeGreaterThan(runs / 20)
    expect(taken).toBeLessThan(runs)
  })

  it('agrees with zod on valid events with optional members present or not', () => {
    taken = 0
    // Mostly values the contract takes, some that it does not.
    const mostly = (valid: fc.Arbitrary<unknown>) =>
      fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: tricky })
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/)
    const members = fc.record(
      {
        issuer: mostly(fc.webUrl()),
        client_id: mostly(name),
        subject: mostly(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
        session_id: mostly(name),
        tenant: mostly(name),
        network: fc.record(
          { ip: mostly(fc.oneof(fc.ipV4(), fc.ipV6())), user_agent: mostly(name) },
          { requiredKeys: [] },
        ),
        attributes: fc.dictionary(mostly(name) as fc.Arbitrary<string>, leaf, { maxKeys: 4 }),
        tool: fc.record({ method: mostly(name), name: mostly(name) }, { requiredKeys: [] }),
        extra_field: leaf,
      },
      { requiredKeys: [] },
    )
    let runs = 0
    fc.assert(
      fc.property(members, (m) => {
        const event = presentedEvent()
        delete event.tenant
        delete event.presented_aud
        agree(JSON.stringify({ ...event, ...m }))
        runs++
      }),
      { numRuns: 3_000 },
    )
    expect(taken).toBeGreaterThan(runs / 20)
  })

  it('leaves its input as it was (zod copies; refusals describe the input as received)', () => {
    const event = presentedEvent({ extra: { nested: [1] } })
    delete event.tenant
    const before = JSON.stringify(event)
    const out = fastParse(event)
    expect(out?.tenant).toBe('default')
    expect(JSON.stringify(event)).toBe(before)
  })
})
