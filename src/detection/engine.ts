/**
 * The streaming detector: event rules evaluated on every stored event, with per-token state that
 * is bounded (least recently used first out) and expires after the token's `exp` plus a grace
 * period; rebuilt from ClickHouse for the recent window after a restart.
 */
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { EventRow } from '../events/event-row.js'
import type { Repositories } from '../storage/repositories.js'
import type { ExceptionMatcher } from './exceptions.js'
import type { FindingsStore, RecordedFinding } from './findings-store.js'
import type { Detection, EventRule, Rule } from './rule.js'
import {
  applyExchangeToSubject,
  applyToState,
  type TokenState,
  type TokenStateRow,
} from './token-state.js'

export interface EvaluatorOptions {
  /** Per-rule parameter overrides (validated by each rule's schema). */
  params?: Readonly<Record<string, Record<string, unknown>>>
  registry?: ResourceRegistry
  /** Most token states kept (default 200 000). */
  maxStates?: number
  /** Kept this long past `exp` (default 1 h), or past the last event when there is no exp (24 h). */
  graceS?: number
  idleS?: number
  /** A rule that threw on an event: reported, and evaluation goes on. */
  onRuleError?: (ruleId: string, err: unknown) => void
}

export interface DetectorOptions extends Omit<EvaluatorOptions, 'onRuleError'> {
  rules: readonly Rule[]
  store: FindingsStore
  exceptions?: ExceptionMatcher
  logger: Logger
  /** Called with the findings each batch created or updated (alerting). */
  onFindings?: (findings: RecordedFinding[]) => void
}

/** What the event rules found in some rows: per rule id, its detections (plain data). */
export type RuleDetections = [ruleId: string, detections: Detection[]][]

/** The evaluation half of the detector: pure JavaScript, so it can run in a worker thread. */
export interface RuleEvaluator {
  /** Evaluate rows in order, updating token state. */
  evaluate(rows: readonly EventRow[]): RuleDetections
  /** The same a row at a time (the row need not be kept): `done` gives what all of them showed. */
  begin(): { add(row: EventRow): void; done(): RuleDetections }
  /** Only update token state (a warm-up from stored events, which need only these columns). */
  apply(rows: readonly TokenStateRow[]): void
  /** The token states, least recently used first (a hand-off to another evaluator). */
  entries(): [string, TokenState][]
  /** Take over token states given by `entries` of another evaluator. */
  restore(entries: readonly [string, TokenState][]): void
  readonly states: number
}

/** Token states by key, least recently used first (RuleEvaluator.entries). */
export type TokenStates = [string, TokenState][]

/**
 * What an evaluator is rebuilt from elsewhere (structured-cloneable): the consumer's validation
 * worker takes the rules' evaluation over from the detector, with its token state. The resource
 * registry is not in it: the worker has the consumer's, which canonicalization reads too.
 */
export interface EvaluationHandOff extends Pick<
  EvaluatorOptions,
  'params' | 'maxStates' | 'graceS' | 'idleS'
> {
  ruleIds: string[]
  states: [string, TokenState][]
}

export interface StreamingDetector {
  /** Evaluate stored rows (in order) and record what they show; safe to call again. */
  process(rows: readonly EventRow[]): Promise<void>
  /** Record detections evaluated elsewhere (exceptions applied, findings stored, alerts). */
  record(found: RuleDetections): Promise<void>
  /** Rebuild token state from the events received in the last `windowS` seconds. */
  warmUp(storage: EventsStorage, windowS: number): Promise<number>
  /**
   * The token states warmUp would build now, in an evaluator of their own (this detector's state
   * is left alone): for a validation worker started after the one holding them died.
   */
  storedStates(storage: EventsStorage, windowS: number): Promise<TokenStates>
  /**
   * Give evaluation away: the settings and token state for an evaluator elsewhere. From then on
   * this detector only records; `process` refuses (two token states would drift apart).
   */
  handOff(): EvaluationHandOff
  readonly states: number
  readonly suppressed: number
}

/** Where token state is rebuilt from. */
type EventsStorage = Pick<Repositories, 'events'>

/** Token states kept when EvaluatorOptions.maxStates is not given. */
const DEFAULT_MAX_STATES = 200_000

export function createRuleEvaluator(
  rules: readonly Rule[],
  options: EvaluatorOptions = {},
): RuleEvaluator {
  const eventRules = rules.filter((r): r is EventRule => r.kind === 'event')
  const params = new Map(
    eventRules.map((r) => [r.id, r.params.parse(options.params?.[r.id] ?? {})]),
  )
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES
  const graceMs = (options.graceS ?? 3600) * 1000
  const idleMs = (options.idleS ?? 86_400) * 1000
  const states = new Map<string, TokenState>()
  let sinceSweep = 0

  function remember(key: string, state: TokenState) {
    states.delete(key) // re-insert: Map order is least recently used first
    states.set(key, state)
    while (states.size > maxStates) states.delete(states.keys().next().value!)
  }

  function sweep(now: number) {
    for (const [key, s] of states) {
      const expired = s.exp !== undefined ? s.exp * 1000 + graceMs < now : s.lastSeen + idleMs < now
      if (expired) states.delete(key)
    }
  }

  const keyOf = (row: TokenStateRow) => `${row.tenant}\u0000${row.token_key}`
  /** The state of the row's token before the row (none without a token key). */
  const stateOf = (row: TokenStateRow, key: string) =>
    row.token_key === '' ? undefined : states.get(key)

  /** The state of another token of the row's tenant (a subject token of an exchange). */
  const lookup = (tenant: string, tokenKey: string) =>
    tokenKey === '' ? undefined : states.get(`${tenant}\u0000${tokenKey}`)

  function advance(key: string, before: TokenState | undefined, row: TokenStateRow) {
    const subject =
      row.event_type === 'token.exchanged' ? lookup(row.tenant, row.subject_token_key) : undefined
    const after = applyToState(before, row, subject)
    if (after) remember(key, after)
    if (subject !== undefined) applyExchangeToSubject(subject, row)
  }

  function step(row: EventRow, found: Map<string, Detection[]>) {
    const key = keyOf(row)
    const before = stateOf(row, key)
    for (const rule of eventRules) {
      try {
        const detections = rule.evaluate(row, before, {
          params: params.get(rule.id),
          registry: options.registry,
          tokenState: (tokenKey) => lookup(row.tenant, tokenKey),
        })
        if (detections.length === 0) continue
        const list = found.get(rule.id)
        if (list) for (const d of detections) list.push(d)
        else found.set(rule.id, [...detections])
      } catch (err) {
        // A faulty rule must not stop ingestion; it is reported instead.
        options.onRuleError?.(rule.id, err)
      }
    }
    advance(key, before, row)
  }

  function swept(count: number) {
    if ((sinceSweep += count) >= 10_000) {
      sinceSweep = 0
      sweep(Date.now())
    }
  }

  return {
    get states() {
      return states.size
    },
    evaluate(rows) {
      const batch = this.begin()
      for (const row of rows) batch.add(row)
      return batch.done()
    },
    begin() {
      const found = new Map<string, Detection[]>()
      let count = 0
      return {
        add(row) {
          step(row, found)
          count += 1
        },
        done() {
          swept(count)
          return [...found]
        },
      }
    },
    apply(rows) {
      for (const row of rows) {
        const key = keyOf(row)
        advance(key, stateOf(row, key), row)
      }
      sweep(Date.now())
    },
    entries() {
      return [...states]
    },
    restore(entries) {
      for (const [key, state] of entries) remember(key, state)
    },
  }
}

/** An evaluator from a hand-off (in the consumer's worker), its token state restored. */
export function evaluatorFromHandOff(
  handOff: EvaluationHandOff,
  rules: readonly Rule[],
  registry: ResourceRegistry | undefined,
  onRuleError?: (ruleId: string, err: unknown) => void,
): RuleEvaluator {
  const { ruleIds, states, ...settings } = handOff
  const evaluator = createRuleEvaluator(
    rules.filter((r) => ruleIds.includes(r.id)),
    { ...settings, registry, onRuleError },
  )
  evaluator.restore(states)
  return evaluator
}

export function createStreamingDetector(options: DetectorOptions): StreamingDetector {
  const log = options.logger.child({ component: 'detector' })
  const evaluator = createRuleEvaluator(options.rules, {
    ...options,
    onRuleError: (rule, err) => log.error({ rule, err: String(err) }, 'rule failed on an event'),
  })
  const byId = new Map(options.rules.map((r) => [r.id, r]))
  let handedOff = false
  let suppressed = 0

  async function record(found: RuleDetections) {
    await options.exceptions?.refresh()
    const groups: [EventRule, Detection[]][] = []
    for (const [ruleId, detections] of found) {
      const rule = byId.get(ruleId)
      if (rule?.kind !== 'event') continue
      const kept = detections.filter((d) => {
        const exception = options.exceptions?.match(rule.id, d)
        if (exception) suppressed += 1
        return exception === undefined
      })
      if (kept.length > 0) groups.push([rule, kept])
    }
    const recorded: RecordedFinding[] = await options.store.recordAll(groups)
    if (recorded.length > 0) options.onFindings?.(recorded)
  }

  return {
    get states() {
      return evaluator.states
    },
    get suppressed() {
      return suppressed
    },
    async process(rows) {
      if (handedOff) throw new Error('detector: evaluation was handed off')
      await record(evaluator.evaluate(rows))
    },
    record,
    handOff() {
      handedOff = true
      return {
        ruleIds: options.rules.filter((r) => r.kind === 'event').map((r) => r.id),
        params: options.params,
        maxStates: options.maxStates,
        graceS: options.graceS,
        idleS: options.idleS,
        states: evaluator.entries(),
      }
    },
    warmUp(storage, windowS) {
      return applyRecent(evaluator, storage, windowS, options.maxStates)
    },
    async storedStates(storage, windowS) {
      const rebuilt = createRuleEvaluator(options.rules, options)
      await applyRecent(rebuilt, storage, windowS, options.maxStates)
      return rebuilt.entries()
    },
  }
}

/** Rows parsed from the engine's answer before they are applied (each apply ends in a sweep). */
const APPLY_BATCH = 50_000

/**
 * Token state from the stored events of the last `windowS` seconds (the newest, 4 per state kept),
 * applied in order. Read as a stream: the events of an hour at a few hundred per second are more
 * text than one JavaScript string may hold.
 */
async function applyRecent(
  evaluator: RuleEvaluator,
  storage: EventsStorage,
  windowS: number,
  maxStates = DEFAULT_MAX_STATES,
): Promise<number> {
  const recent = storage.events.recentTokenEvents(Date.now() - windowS * 1000, maxStates * 4)
  // Only the columns token state reads (see the query): enough for apply, which runs no rule.
  let batch: TokenStateRow[] = []
  let count = 0
  for await (const rows of recent) {
    for (const row of rows) batch.push(row)
    if (batch.length >= APPLY_BATCH) {
      evaluator.apply(batch)
      count += batch.length
      batch = []
    }
  }
  evaluator.apply(batch)
  return count + batch.length
}
