import { randomUUID } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import {
  createRuleEvaluator,
  type EvaluationHandOff,
  type RuleDetections,
  type TokenStates,
} from '../../src/detection/engine.js'
import type { EventRule } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import { packMessages, validateChunk } from '../../src/pipeline/chunk.js'
import {
  ChunkNotWanted,
  startChunkValidator,
  type ChunkValidator,
  type ValidatorClock,
  type ValidatorOptions,
  type WorkerFactory,
} from '../../src/pipeline/chunk-validator.js'
import { toEventRow } from '../../src/events/event-row.js'
import { decodeEvents } from '../../src/storage/events-store.js'
import { evenChunks } from '../../src/transport/consumer.js'
import { presentedEvent } from '../helpers/events.js'
import { holding } from '../helpers/workers.js'

const message = (value: Buffer | null, offset: number, key: string | null = null): KafkaMessage =>
  ({
    key: key === null ? null : Buffer.from(key),
    value,
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
    headers: {},
  }) as KafkaMessage

/** 700 messages, every seventh malformed, then one without a value. */
function mixed(): { messages: KafkaMessage[]; valid: string[] } {
  const messages: KafkaMessage[] = []
  const valid: string[] = []
  for (let i = 0; i < 700; i++) {
    if (i % 7 === 3) {
      messages.push(message(Buffer.from(i % 2 ? '{"event_type":1' : '\u0000\u0001'), i, `k${i}`))
      continue
    }
    const event = presentedEvent()
    valid.push(String(event.event_id))
    messages.push(message(Buffer.from(JSON.stringify(event)), i))
  }
  messages.push(message(null, 700))
  return { messages, valid }
}

describe('a chunk of Kafka messages', () => {
  it('keeps the valid events in order and refuses every other message by its index', () => {
    const { messages, valid } = mixed()
    const chunk = validateChunk(
      { ...packMessages(messages.map((m) => m.value)), receivedAt: Date.now() },
      { retentionDays: 400 },
    )
    expect(decodeEvents(chunk.events).map((r) => r.event_id)).toEqual(valid)
    expect(chunk.events.eventIds).toEqual(valid)
    expect(chunk.rejected).toHaveLength(101)
    expect(chunk.rejected.map((r) => r.index)).toContain(3)
    expect(chunk.rejected.map((r) => r.index)).toContain(700)
    expect(chunk.rejected.find((r) => r.index === 700)?.reasons).toEqual(['empty payload'])
    expect(chunk.detections).toEqual([])
  })

  it('take each row digest for the chain only when chaining is on (AUDTRAIL_INTEGRITY=off: none)', async () => {
    const { messages, valid } = mixed()
    const input = { ...packMessages(messages.map((m) => m.value)), receivedAt: Date.now() }
    const on = validateChunk(input, { retentionDays: 400 })
    expect(on.events.digests).toHaveLength(valid.length)
    expect(on.events.digests!.every((d) => /^[0-9a-f]{64}$/.test(d))).toBe(true)
    const off = validateChunk(input, { retentionDays: 400, digests: false })
    expect(off.events.digests).toBeUndefined()
    // The same rows either way.
    expect(decodeEvents(off.events)).toEqual(decodeEvents(on.events))
    // And through the worker thread, which is told the setting when it starts.
    for (const digests of [false, true]) {
      const validator = startChunkValidator({
        retentionDays: 400,
        digests,
        logger: createLogger('silent'),
      })
      try {
        const chunk = await validator.toChunk(messages, 't', 4)
        expect(chunk.events.eventIds).toEqual(valid)
        expect(chunk.events.digests?.length).toBe(digests ? valid.length : undefined)
      } finally {
        await validator.close()
      }
    }
  })

  it('are validated in the worker thread the same way, with DLQ messages of the original bytes and keys', async () => {
    const { messages, valid } = mixed()
    const validator = startChunkValidator({ retentionDays: 400, logger: createLogger('silent') })
    try {
      const chunk = await validator.toChunk(messages, 't', 4)
      expect(decodeEvents(chunk.events).map((r) => r.event_id)).toEqual(valid)
      expect(chunk.rejected).toHaveLength(101)
      expect(chunk.rejected.map((r) => r.source_ref)).toContain('t/4/3')
      expect(chunk.rejected.map((r) => r.source_ref)).toContain('t/4/700')
      expect(chunk.dlq).toHaveLength(101)
      expect(chunk.dlq[0]!.value).toEqual(messages[3]!.value)
      expect(chunk.dlq[0]!.key).toEqual(Buffer.from('k3'))
      expect(chunk.dlq[0]!.headers?.['audtrail-source']).toBe('t/4/3')
      expect(chunk.dlq[100]!.value).toEqual(Buffer.alloc(0))
      // Chunks come back in the order they were sent, each with its own events.
      const again = await Promise.all([
        validator.toChunk(messages.slice(0, 10), 't', 4),
        validator.toChunk(messages.slice(10, 30), 't', 4),
      ])
      expect(again.map((c) => c.events.eventIds)).toEqual([
        valid.filter((id) => messages.slice(0, 10).some((m) => m.value?.includes(id))),
        valid.filter((id) => messages.slice(10, 30).some((m) => m.value?.includes(id))),
      ])
    } finally {
      await validator.close()
    }
    await expect(validator.toChunk(messages, 't', 4)).rejects.toThrow(/closed/)
  })

  it('run the event rules in the worker with the token state handed to it, as they run in process', async () => {
    const { states, lasts, expected } = rulesHandOff()
    const validator = startChunkValidator({
      retentionDays: 36_500,
      evaluation: { ruleIds: RULE_IDS, states },
      logger: createLogger('silent'),
    })
    let found: RuleDetections
    try {
      found = await lastDetections(validator, lasts)
    } finally {
      await validator.close()
    }
    expect(summary(found)).toEqual(summary(expected))
    // The stateful rules among them: they fire on the last event only with the earlier ones' state.
    const fired = found.map(([rule]) => rule)
    expect(fired).toContain('cross-audience-replay')
    expect(fired).toContain('aud-mismatch-accepted')
    expect(fired.length).toBeGreaterThanOrEqual(8)
  })

  it.each([true, false])(
    'after the worker dies, a new one validates the next chunks (restoring the token state: %s)',
    async (restoring) => {
      // The first worker starts with no token state, and dies; the state the earlier events left
      // reaches the second worker only through restoreStates.
      const { states, lasts, expected } = rulesHandOff()
      let restores = 0
      const { validator, workers } = await afterDeath(
        restoring
          ? async () => {
              restores += 1
              return states
            }
          : undefined,
      )
      let found: RuleDetections
      try {
        found = await lastDetections(validator, lasts)
      } finally {
        await validator.close()
      }
      expect(workers).toHaveLength(2)
      expect(restores).toBe(restoring ? 1 : 0)
      const fired = found.map(([rule]) => rule)
      if (restoring) {
        expect(summary(found)).toEqual(summary(expected))
        expect(fired).toContain('cross-audience-replay')
      } else {
        // Without the earlier events' state, the stateful rules see each last event as a first.
        expect(fired).not.toContain('cross-audience-replay')
        expect(summary(found)).not.toEqual(summary(expected))
        expect(fired.length).toBeGreaterThan(0)
      }
    },
  )

  it('send the chunks made while a replacement waits for its token state in the order they were made', async () => {
    let restore: (states: TokenStates) => void = () => {}
    const { validator, workers } = await afterDeath(
      () => new Promise((resolve) => (restore = resolve)),
    )
    try {
      // One token at its audience, then outside it, then at a third resource: one chunk each,
      // all made before the state is given. Replay is found at the second only after the first.
      const token = { jti: `at-${randomUUID()}`, aud: ['https://a.example.com/'] }
      const chunks = ['https://a.example.com/', 'https://b.example.com/', 'https://c.example.com/']
        .map((resource) =>
          presentedEvent({ tenant: 'order', token, resource, presented_aud: token.aud }),
        )
        .map((e, i) => validator.toChunk([message(Buffer.from(JSON.stringify(e)), i)], 't', 0))
      // Nothing starts before the state is given.
      expect(workers).toHaveLength(1)
      restore([])
      const fired = (await Promise.all(chunks)).map((c) => c.detections.map(([rule]) => rule))
      expect(fired[0]).not.toContain('cross-audience-replay')
      expect(fired[1]).toContain('cross-audience-replay')
      expect(workers).toHaveLength(2)
      // A chunk no longer wanted when its turn comes is refused unsent.
      await expect(validator.toChunk(oneEvent(9), 't', 0, () => false)).rejects.toBeInstanceOf(
        ChunkNotWanted,
      )
    } finally {
      await validator.close()
    }
  })

  it('start a replacement without state when the restore throws, and again when a start fails', async () => {
    let starts = 0
    const clock = fakeClock()
    const { validator, workers } = await afterDeath(
      () => {
        throw new Error('restore failed')
      },
      (workers) => (script, options) => {
        starts += 1
        if (starts === 2) throw new Error('no thread for now')
        return holding(workers)(script, options)
      },
      clock,
    )
    try {
      // Waits for the start that is tried again, a second after the failed one (the death
      // itself, the first in a minute, waits for nothing).
      const chunk = await validator.toChunk(oneEvent(), 't', 0)
      expect(chunk.events.eventIds).toHaveLength(1)
      expect(starts).toBe(3)
      expect(workers).toHaveLength(2)
      expect(clock.waits).toEqual([1000])
    } finally {
      await validator.close()
    }
  })

  it('wait longer before each start after deaths in a row, up to 30 s, and not after a quiet minute', async () => {
    const clock = fakeClock()
    // The first worker lives; the six after it exit as soon as they start.
    let starts = 0
    const { validator, workers } = await afterDeath(
      () => Promise.resolve([]),
      (workers) => (script, options) =>
        ++starts >= 2 && starts <= 7
          ? new Worker('process.exit(3)', { eval: true })
          : holding(workers)(script, options),
      clock,
    )
    try {
      // Seven deaths at the same time: the first starts the next worker at once. A chunk sent
      // to a worker that then exits is refused, as the consumer's would be: sent again here.
      const validated = async () => {
        for (;;) {
          const chunk = await validator.toChunk(oneEvent(), 't', 0).catch((err: Error) => {
            if (!/exited/.test(err.message)) throw err
          })
          if (chunk) return chunk.events.eventIds
        }
      }
      expect(await validated()).toHaveLength(1)
      expect(starts).toBe(8)
      expect(clock.waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000])
      expect(workers).toHaveLength(2)
      // A death a minute after the last one waits for nothing; one right after it, a second.
      clock.advance(60_000)
      await workers[1]!.terminate()
      expect(await validated()).toHaveLength(1)
      expect(clock.waits).toHaveLength(6)
      await workers[2]!.terminate()
      expect(await validated()).toHaveLength(1)
      expect(clock.waits.slice(6)).toEqual([1000])
      expect(workers).toHaveLength(4)
    } finally {
      await validator.close()
    }
  })

  it('refuse, unsent, the chunks waiting for a replacement when told to (a consumer stopping)', async () => {
    const { validator, workers } = await afterDeath(() => new Promise(() => {}))
    try {
      const waiting = validator.toChunk(oneEvent(), 't', 0)
      validator.refuseWaiting()
      await expect(waiting).rejects.toBeInstanceOf(ChunkNotWanted)
      await expect(validator.toChunk(oneEvent(), 't', 0)).rejects.toBeInstanceOf(ChunkNotWanted)
      expect(workers).toHaveLength(1)
    } finally {
      await validator.close()
    }
  })

  it('refuse the chunks waiting for a replacement when closed, and start none', async () => {
    // A restore that never ends (a ClickHouse that does not answer).
    const { validator, workers } = await afterDeath(() => new Promise(() => {}))
    const waiting = validator.toChunk(oneEvent(), 't', 0)
    await validator.close()
    await expect(waiting).rejects.toThrow(/closed/)
    expect(workers).toHaveLength(1)
  })
})

const RULE_IDS = RULES.map((r) => r.id)

/** A clock whose waits end at once and are kept in `waits`; its time moves only by `advance`. */
function fakeClock(): ValidatorClock & { waits: number[]; advance(ms: number): void } {
  let now = 1_800_000_000_000
  const waits: number[] = []
  return {
    waits,
    now: () => now,
    sleep: async (ms) => void waits.push(ms),
    advance: (ms) => void (now += ms),
  }
}

/** A one-event chunk. */
const oneEvent = (offset = 0) => [message(Buffer.from(JSON.stringify(presentedEvent())), offset)]

/**
 * A validator with the event rules and no token state, whose first worker has validated a chunk
 * and died: the next chunks wait for the replacement, which waits for `restoreStates`.
 */
async function afterDeath(
  restoreStates: ValidatorOptions['restoreStates'],
  startWorker: (workers: Worker[]) => WorkerFactory = holding,
  clock?: ValidatorClock,
): Promise<{ validator: ChunkValidator; workers: Worker[] }> {
  const workers: Worker[] = []
  const validator = startChunkValidator(
    {
      // The rules' examples are old events.
      retentionDays: 36_500,
      evaluation: { ruleIds: RULE_IDS, states: [] },
      restoreStates,
      logger: createLogger('silent'),
    },
    startWorker(workers),
    clock,
  )
  await validator.toChunk(oneEvent(), 't', 0)
  await workers[0]!.terminate()
  return { validator, workers }
}

/**
 * Every event rule's firing examples (those without their own parameters or registry), each
 * under a tenant of its own: the events before the last are evaluated here, and their token
 * state is what a worker is given; `expected` is what the last events show with it, in process.
 */
function rulesHandOff(): {
  states: EvaluationHandOff['states']
  lasts: Record<string, unknown>[]
  expected: RuleDetections
} {
  const examples = RULES.filter((r): r is EventRule => r.kind === 'event').flatMap((rule) =>
    rule.examples
      .filter((e) => e.fires && !e.params && !e.registry)
      .map((e, i) => ({ rule: rule.id, events: e.events, tenant: `ex-${rule.id}-${i}` })),
  )
  expect(examples.length).toBeGreaterThanOrEqual(8)
  const rowsOf = (events: readonly Record<string, unknown>[], tenant: string) =>
    events.map((input) => {
      const parsed = parseEvent({ ...input, tenant })
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: Date.now() })
    })
  const here = createRuleEvaluator(RULES)
  // (evaluate, not apply: apply sweeps states past their exp, and the examples' tokens are old)
  here.evaluate(examples.flatMap((e) => rowsOf(e.events.slice(0, -1), e.tenant)))
  // A copy: the states are live, and the in-process evaluation below changes them.
  const states = structuredClone(here.entries())
  const lasts = examples.map((e) => ({ ...e.events.at(-1)!, tenant: e.tenant }))
  const expected = here.evaluate(lasts.map((e) => rowsOf([e], e.tenant)[0]!))
  return { states, lasts, expected }
}

/** What the worker's rules find in the last events, sent as one chunk. */
async function lastDetections(
  validator: ChunkValidator,
  lasts: readonly Record<string, unknown>[],
): Promise<RuleDetections> {
  const chunk = await validator.toChunk(
    lasts.map((e, i) => message(Buffer.from(JSON.stringify(e)), i)),
    't',
    0,
  )
  expect(chunk.rejected).toEqual([])
  return chunk.detections
}

const summary = (d: RuleDetections) =>
  d
    .map(([rule, ds]) => [rule, ds.map((x) => [x.tenant, x.keys, x.eventIds])] as const)
    .sort((a, b) => a[0].localeCompare(b[0]))

describe('evenChunks', () => {
  it.each([
    [0, 10_000, 1],
    [1, 10_000, 1],
    [10_000, 10_000, 10_000],
    [10_001, 10_000, 5001],
    [25_000, 10_000, 8334],
    [7, 0, 1],
  ])('splits %i messages of at most %i per write into chunks of %i', (total, max, size) => {
    expect(evenChunks(total, max)).toBe(size)
  })
})
