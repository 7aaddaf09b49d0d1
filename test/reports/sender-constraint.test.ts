/**
 * Sender-constraint coverage in the compliance report (issue 27): the three metrics against the
 * ground truth of a seeded dataset (bound and unbound tokens, valid, invalid, absent and unrecorded
 * proofs), the same figures as GET /v1/sender-constraint, controls that flip at a configured
 * threshold, the DPoP rules' findings counted under their controls, and the CSV and HTML.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CERT, JKT, OTHER_JKT } from '../../src/detection/rules/lib/sender-constraint.js'
import { queryEventMetrics } from '../../src/reports/evidence.js'
import {
  buildComplianceReport,
  ComplianceReport,
  DEFAULT_THRESHOLDS,
  renderReport,
  type MetricId,
  type Threshold,
} from '../../src/reports/index.js'
import { querySenderConstraint } from '../../src/storage/report-sender-constraint.js'
import type { Storage } from '../../src/storage/client.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { migrate } from '../../src/storage/migrate.js'
import { senderConstraintCoverage } from '../../src/storage/sender-coverage.js'
import { seededRandom } from '../helpers/random.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { issued, MCP, presented, seed, type Event } from './fixtures.js'

const storage = testStorage('reports_sender_constraint')
const SINCE = Date.parse('2026-10-01T00:00:00.000Z')
const UNTIL = Date.parse('2026-10-31T00:00:00.000Z')
const DAY = 86_400_000
const PERIOD = { since: SINCE, until: UNTIL }
const CLIENTS = ['agent-a', 'agent-b', 'agent-c']
const SENDER = [
  'sender_constrained_token_share',
  'proof_of_possession_coverage',
  'unproven_bound_presentations',
] as const satisfies readonly MetricId[]
type SenderMetric = (typeof SENDER)[number]

const DPOP_VALID = { scheme: 'DPoP', verdict: 'valid', jkt: JKT, htm: 'POST', htu: MCP }
const CERT_VALID = { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: CERT }
const UNPROVEN_DPOP = [
  { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
  { scheme: 'DPoP', verdict: 'invalid', failure: 'jkt_mismatch', jkt: OTHER_JKT },
  { scheme: 'DPoP', verdict: 'unchecked' },
]
const BEARER = { scheme: 'Bearer', verdict: 'absent' }

/** Tokens bound by DPoP, by certificate or not at all, presented with every kind of proof. */
function dataset(tenant: string, seedValue: number): Event[] {
  const rnd = seededRandom(seedValue)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const events: Event[] = []
  for (let i = 0; i < 80; i++) {
    const binding = pick(['jkt', 'jkt', 'x5t', 'none', 'none'] as const)
    const client = pick(CLIENTS)
    const issuedAt = SINCE + Math.floor(rnd() * (UNTIL - SINCE - DAY))
    const iat = Math.floor(issuedAt / 1000)
    const token = {
      jti: `${tenant}-tok-${i}`,
      iat,
      exp: iat + 600,
      aud: [MCP],
      ...(binding === 'jkt' ? { cnf: { jkt: JKT } } : {}),
      ...(binding === 'x5t' ? { cnf: { 'x5t#S256': CERT } } : {}),
    }
    if (rnd() < 0.6)
      events.push(issued(tenant, new Date(issuedAt).toISOString(), { client_id: client, token }))
    for (let k = Math.floor(rnd() * 4); k > 0; k--) {
      const accepted = rnd() < 0.8
      // A collector that records no proof facts (older, or not sender-constraint aware).
      const proof =
        rnd() < 0.15
          ? undefined
          : binding === 'jkt'
            ? rnd() < 0.6
              ? DPOP_VALID
              : pick(UNPROVEN_DPOP)
            : binding === 'x5t'
              ? rnd() < 0.6
                ? CERT_VALID
                : { scheme: 'Bearer', verdict: 'invalid', failure: 'cert_missing' }
              : BEARER
      events.push(
        presented(tenant, new Date(issuedAt + Math.floor(rnd() * 500_000)).toISOString(), {
          client_id: client,
          token,
          proof,
          decision: accepted ? 'accepted' : 'rejected',
          reason: accepted ? 'ok' : 'other',
        }),
      )
    }
  }
  return events
}

/** The three metrics computed here from the events, independently of the SQL. */
function expected(events: readonly Event[]) {
  type Token = { jti: string; cnf?: Record<string, string> }
  const tokenOf = (e: Event) => e.token as Token | undefined
  const bound = (e: Event) => tokenOf(e)?.cnf !== undefined
  const proofOf = (e: Event) => e.proof as { verdict: string } | undefined
  const withToken = events.filter((e) => tokenOf(e) !== undefined)
  const tokens = new Set(withToken.map((e) => tokenOf(e)!.jti))
  const boundTokens = new Set(withToken.filter(bound).map((e) => tokenOf(e)!.jti))
  const accepted = withToken.filter(
    (e) => e.event_type === 'token.presented' && e.decision === 'accepted',
  )
  const proven = accepted.filter((e) => proofOf(e)?.verdict === 'valid')
  const boundWithFacts = accepted.filter((e) => bound(e) && proofOf(e) !== undefined)
  const unproven = boundWithFacts.filter((e) => proofOf(e)!.verdict !== 'valid')
  const ratio = (n: number, d: number) => (d > 0 ? n / d : null)
  return {
    figures: {
      tokens: tokens.size,
      bound_tokens: boundTokens.size,
      presentations: accepted.length,
      proven_presentations: proven.length,
      bound_presentations: boundWithFacts.length,
      unproven_bound_presentations: unproven.length,
    },
    metrics: {
      sender_constrained_token_share: ratio(boundTokens.size, tokens.size),
      proof_of_possession_coverage: ratio(proven.length, accepted.length),
      unproven_bound_presentations: boundWithFacts.length > 0 ? unproven.length : null,
    } satisfies Record<SenderMetric, number | null>,
  }
}

const inPeriod = (events: readonly Event[], since: number, until: number) =>
  events.filter((e) => {
    const t = Date.parse(String(e.occurred_at))
    return t >= since && t < until
  })

type Report = ComplianceReport
const metricOf = (r: Report, id: MetricId) => r.metrics.find((m) => m.id === id)!
const controlOf = (r: Report, fw: string, id: string) =>
  r.frameworks.find((f) => f.id === fw)!.controls.find((c) => c.id === id)!
const report = (tenant: string, thresholds?: Partial<Record<MetricId, Threshold | null>>) =>
  buildComplianceReport(storage, { tenant, framework: 'all', ...PERIOD, thresholds })

let acme: Event[]
const AT = '2026-10-10T12:00:00.000Z'
const AT_S = Math.floor(Date.parse(AT) / 1000)
const fresh = (jti: string, cnf?: Record<string, string>) => ({
  jti,
  iat: AT_S - 60,
  exp: AT_S + 600,
  aud: [MCP],
  ...(cnf ? { cnf } : {}),
})

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  acme = dataset('acme', 27)
  const outside = [
    presented('acme', new Date(SINCE - 1).toISOString(), {
      token: fresh('early', { jkt: JKT }),
      proof: UNPROVEN_DPOP[0],
    }),
    presented('acme', new Date(UNTIL).toISOString(), { token: fresh('late'), proof: BEARER }),
  ]
  // Another tenant, all bound and proven: never counted for acme.
  const globex = dataset('globex', 5).map((e) =>
    e.event_type === 'token.presented' && e.decision === 'accepted'
      ? { ...e, token: { ...(e.token as object), cnf: { jkt: JKT } }, proof: DPOP_VALID }
      : e,
  )
  // `twice` holds the same kind of data, 30 of its events stored a second time.
  const twice = dataset('twice', 41)
  // `clean`: three DPoP-bound tokens proven, one bearer token; nothing else wrong.
  const clean = [
    ...[1, 2, 3].map((i) =>
      presented('clean', AT, { token: fresh(`clean-${i}`, { jkt: JKT }), proof: DPOP_VALID }),
    ),
    presented('clean', AT, { token: fresh('clean-bearer'), proof: BEARER }),
  ]
  await seed(storage, [...acme, ...outside, ...globex, ...twice, ...clean])
  await seed(storage, twice.slice(10, 40))
  // `downgrade`: one DPoP-bound token proven, then the same token accepted as Bearer (observe
  // mode), with the streaming rules run: bound-token-downgrade raises a finding.
  const token = fresh('down-1', { jkt: JKT })
  await seed(
    storage,
    [
      issued('downgrade', AT, { token }),
      presented('downgrade', AT, { token, proof: DPOP_VALID }),
      presented('downgrade', '2026-10-10T12:01:00.000Z', { token, proof: UNPROVEN_DPOP[0] }),
    ],
    { detect: true },
  )
})
afterAll(() => closeTestStorages())

describe('the sender-constraint metrics', () => {
  it.each([
    ['the whole period', SINCE, UNTIL],
    ['partial days at both ends', SINCE + 4.3 * DAY, UNTIL - 10.6 * DAY],
    ['part of one day', SINCE + 6.25 * DAY, SINCE + 6.75 * DAY],
  ])('equal the ground truth of the seeded events over %s', async (_, since, until) => {
    const r = await buildComplianceReport(storage, {
      tenant: 'acme',
      framework: 'all',
      since,
      until,
    })
    ComplianceReport.parse(r)
    const want = expected(inPeriod(acme, since, until))
    for (const id of SENDER) {
      const got = metricOf(r, id)
      if (want.metrics[id] === null) expect(got.value, id).toBeNull()
      else expect(got.value, id).toBeCloseTo(want.metrics[id]!, 12)
    }
    expect(metricOf(r, 'sender_constrained_token_share')).toMatchObject({
      numerator: want.figures.bound_tokens,
      basis: want.figures.tokens,
      threshold: null,
    })
    expect(metricOf(r, 'proof_of_possession_coverage')).toMatchObject({
      numerator: want.figures.proven_presentations,
      basis: want.figures.presentations,
    })
    expect(metricOf(r, 'unproven_bound_presentations').basis).toBe(want.figures.bound_presentations)
    if (until - since < 20 * DAY) return
    // The dataset exercises each figure away from its trivial value.
    expect(want.figures.bound_tokens).toBeGreaterThan(0)
    expect(want.figures.bound_tokens).toBeLessThan(want.figures.tokens)
    expect(want.figures.proven_presentations).toBeGreaterThan(0)
    expect(want.figures.proven_presentations).toBeLessThan(want.figures.presentations)
    expect(want.figures.unproven_bound_presentations).toBeGreaterThan(0)
    expect(want.figures.bound_presentations).toBeGreaterThan(
      want.figures.unproven_bound_presentations,
    )
    // Presentations without proof facts count against coverage, not as unproven bound ones.
    const accepted = inPeriod(acme, since, until).filter(
      (e) => e.event_type === 'token.presented' && e.decision === 'accepted',
    )
    expect(accepted.some((e) => e.proof === undefined && (e.token as { cnf?: unknown }).cnf)).toBe(
      true,
    )
  })

  it('are what GET /v1/sender-constraint says, summed over the clients', async () => {
    const want = expected(acme).figures
    const rows = await senderConstraintCoverage(storage, { tenant: 'acme', ...PERIOD })
    const clients = rows.filter((row) => row.dimension === 'client')
    expect(clients.map((c) => c.name).sort()).toEqual([...CLIENTS].sort())
    const sum = (k: 'tokens' | 'bound_tokens' | 'presentations' | 'proven_presentations') =>
      clients.reduce((n, c) => n + c[k], 0)
    // Each token of the dataset has one client, so the per-client figures add up.
    expect({
      tokens: sum('tokens'),
      bound_tokens: sum('bound_tokens'),
      presentations: sum('presentations'),
      proven_presentations: sum('proven_presentations'),
    }).toEqual({
      tokens: want.tokens,
      bound_tokens: want.bound_tokens,
      presentations: want.presentations,
      proven_presentations: want.proven_presentations,
    })
    expect(await querySenderConstraint(storage, { tenant: 'acme', ...PERIOD })).toEqual(want)
  })

  it('count an event stored twice once (the report reads again with FINAL)', async () => {
    const scope = { tenant: 'twice', ...PERIOD }
    expect((await queryEventMetrics(storage, scope)).final).toBe(true)
    const want = expected(dataset('twice', 41))
    expect(await querySenderConstraint(storage, scope, { final: true })).toEqual(want.figures)
    const r = await report('twice')
    for (const id of SENDER)
      if (want.metrics[id] === null) expect(metricOf(r, id).value, id).toBeNull()
      else expect(metricOf(r, id).value, id).toBeCloseTo(want.metrics[id]!, 12)
  })

  it('answer on the memory storage as the other report queries do', async () => {
    const memory = createMemoryRepositories()
    const asStorage = () =>
      ({ ...memory, mode: 'embedded', database: 'memory', close: async () => {} }) as Storage
    await expect(querySenderConstraint(asStorage(), { tenant: 'acme', ...PERIOD })).rejects.toThrow(
      /report-sender-constraint has no in-memory double/,
    )
    memory.available = false
    await expect(
      querySenderConstraint(asStorage(), { tenant: 'acme', ...PERIOD }),
    ).rejects.toMatchObject({ code: 'ERR_SINK_UNAVAILABLE', retriable: true })
  })

  it('have no evidence without tokens', async () => {
    const r = await report('nobody')
    for (const id of SENDER)
      expect(metricOf(r, id), id).toMatchObject({ value: null, status: 'no_evidence', basis: 0 })
  })
})

describe('controls that ask for sender-constrained tokens', () => {
  /** Every control of the report whose metrics include `id`, as `framework control`. */
  const using = (r: Report, id: MetricId) =>
    r.frameworks.flatMap((f) =>
      f.controls.filter((c) => c.metrics.includes(id)).map((c) => ({ fw: f.id, ...c })),
    )

  it('are mapped in every framework the issue names', async () => {
    const r = await report('clean')
    const names = (id: MetricId) => using(r, id).map((c) => `${c.fw} ${c.id}`)
    for (const control of [
      'nist-800-53r5 SC-23',
      'nist-csf-2.0 PR.AA-04',
      'owasp-nhi-2025 NHI2:2025',
      'owasp-asi-2026 ASI03',
      'mcp-authorization mcp-authz/token-theft',
      'mcp-authorization-2026-07-28 mcp-authz/token-theft',
    ])
      expect(names('sender_constrained_token_share'), control).toContain(control)
    for (const control of [
      'nist-800-53r5 IA-2(8)',
      'nist-800-207 tenet-6',
      'owasp-nhi-2025 NHI4:2025',
    ])
      expect(names('unproven_bound_presentations'), control).toContain(control)
    // The five DPoP rules count against SC-23 and the 2026-07-28 token-theft clause.
    const dpopRules = [
      'bound-token-downgrade',
      'dpop-htu-mismatch',
      'dpop-proof-replay',
      'proof-key-mismatch',
      'sender-binding-dropped',
    ]
    for (const [fw, id] of [
      ['nist-800-53r5', 'SC-23'],
      ['mcp-authorization-2026-07-28', 'mcp-authz/token-theft'],
      ['owasp-asi-2026', 'ASI03'],
    ] as const)
      expect(controlOf(r, fw, id).rules, `${fw} ${id}`).toEqual(expect.arrayContaining(dpopRules))
  })

  it('pass by default with partial coverage: the shares are informational', async () => {
    const r = await report('clean')
    expect(metricOf(r, 'sender_constrained_token_share')).toMatchObject({
      value: 0.75,
      numerator: 3,
      basis: 4,
      status: 'informational',
    })
    expect(metricOf(r, 'proof_of_possession_coverage')).toMatchObject({
      value: 0.75,
      status: 'informational',
    })
    expect(metricOf(r, 'unproven_bound_presentations')).toMatchObject({
      value: 0,
      basis: 3,
      threshold: DEFAULT_THRESHOLDS.unproven_bound_presentations,
      status: 'pass',
    })
    for (const c of using(r, 'sender_constrained_token_share'))
      expect(c.status, `${c.fw} ${c.id}: ${c.reason}`).toBe('pass')
  })

  it.each([
    [
      'sender_constrained_token_share',
      'Sender-constrained token share is 75 % of 4 tokens issued or presented',
    ],
    [
      'proof_of_possession_coverage',
      'Proof-of-possession coverage is 75 % of 4 accepted token presentations',
    ],
  ] as const)('fail under a configured minimum of %s, and pass at it', async (id, sentence) => {
    const at = await report('clean', { [id]: { op: 'min', value: 0.75 } })
    expect(metricOf(at, id).status).toBe('pass')
    const above = await report('clean', { [id]: { op: 'min', value: 0.76 } })
    expect(metricOf(above, id).status).toBe('fail')
    const controls = using(above, id)
    expect(controls.length).toBeGreaterThan(4)
    for (const c of controls) {
      expect(c.status, `${c.fw} ${c.id}`).toBe('fail')
      expect(c.reason).toContain(`${sentence}; the control requires at least 76 %.`)
      expect(controlOf(at, c.fw, c.id).status, `${c.fw} ${c.id} at the threshold`).toBe('pass')
    }
    // A control without the metric is not affected.
    const other = using(above, 'aud_validation_coverage').filter((c) => !c.metrics.includes(id))
    expect(other.length).toBeGreaterThan(0)
    for (const c of other) expect(c.status, `${c.fw} ${c.id}`).toBe('pass')
  })

  it('fail on a bound token accepted without its proof, and count the DPoP rule finding', async () => {
    const r = await report('downgrade')
    expect(metricOf(r, 'unproven_bound_presentations')).toMatchObject({
      value: 1,
      basis: 2,
      status: 'fail',
    })
    const finding = r.findings.find((f) => f.rule_id === 'bound-token-downgrade')
    expect(finding).toMatchObject({ status: 'open', severity: 'critical' })
    for (const [fw, id] of [
      ['nist-800-53r5', 'SC-23'],
      ['nist-800-53r5', 'IA-2(8)'],
      ['nist-csf-2.0', 'PR.AA-04'],
      ['owasp-nhi-2025', 'NHI4:2025'],
      ['mcp-authorization-2026-07-28', 'mcp-authz/token-theft'],
    ] as const) {
      const c = controlOf(r, fw, id)
      expect(c.status, `${fw} ${id}`).toBe('fail')
      expect(c.findings, `${fw} ${id}`).toContain(finding!.id)
      expect(c.reason).toContain('bound-token-downgrade (1)')
      expect(c.reason).toContain(
        'Bound tokens accepted without proof: 1 (over 2 accepted presentations of bound tokens with proof facts); the control requires at most 0.',
      )
    }
    // The count's threshold can be switched off; the finding still fails the control.
    const off = await report('downgrade', { unproven_bound_presentations: null })
    expect(metricOf(off, 'unproven_bound_presentations').status).toBe('informational')
    expect(controlOf(off, 'nist-800-53r5', 'SC-23').status).toBe('fail')
    // MCP 2025-11-25 lists only its citing rules: the count alone fails its token-theft clause.
    const theft = controlOf(r, 'mcp-authorization', 'mcp-authz/token-theft')
    expect(theft).toMatchObject({ status: 'fail', finding_count: 0 })
    expect(controlOf(off, 'mcp-authorization', 'mcp-authz/token-theft').status).toBe('pass')
  })

  it('show in the JSON, the CSV and the HTML', async () => {
    const r = await report('clean', { sender_constrained_token_share: { op: 'min', value: 0.9 } })
    const json = JSON.parse(renderReport(r, 'json')) as Report
    expect(metricOf(json, 'sender_constrained_token_share').value).toBe(0.75)
    const csv = renderReport(r, 'csv')
    expect(csv).toContain('sender_constrained_token_share=75.00% [>= 90.00%] (fail)')
    expect(csv).toContain('proof_of_possession_coverage=75.00% (informational)')
    const html = renderReport(r, 'html')
    expect(html).toContain(
      'Sender-constrained token share is 75 % of 4 tokens issued or presented; the control requires at least 90 %.',
    )
    expect(html).toContain('Bound tokens accepted without proof')
  })
})
