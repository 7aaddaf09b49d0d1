/**
 * delegation-chain-violation: an RFC 8693 exchange that widened what its subject token allowed
 * (audience or scope), an actor the subject token's `may_act` does not permit, or a chain deeper
 * than allowed.
 */
import { z } from 'zod'
import type { EventRow } from '../../events/event-row.js'
import type { Detection, EventRule, RuleContext } from '../rule.js'
import { parseMayAct, type MayAct, type TokenState } from '../token-state.js'
import { exampleEvents, API, MCP, at, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { canonicalSet, distinctResources, outsideAudience, registryEntry } from './lib/resources.js'
import { attribute, detect, stringList } from './lib/rows.js'

const params = z.object({
  maxDepth: z
    .number()
    .int()
    .min(1)
    .max(32)
    .default(3)
    .describe('longest delegation chain allowed: exchanges between the issued token and this one'),
  allowRegisteredTargetScopes: z
    .boolean()
    .default(true)
    .describe(
      "a scope the resource registry lists for an audience of the exchanged token outside the subject token's is not a widening (an exchange for another resource gets that resource's scopes); at the subject's own resource it still is",
    ),
})
type Params = z.output<typeof params>
const ev = exampleEvents('delegation-chain-violation')
const REPORTS = 'https://reports.example.com'
/** Chain links shown in the evidence, at most. */
const MAX_CHAIN = 16

export type Violation = 'wider_audience' | 'wider_scope' | 'actor_not_permitted' | 'chain_too_deep'

/** What the subject token allowed: recorded by the AS on the exchange, else the engine's state. */
interface SubjectFacts {
  audience: string[]
  scopes: string[]
  mayAct?: MayAct
  depth: number
  from: 'event' | 'state' | 'none'
}

function subjectFacts(row: EventRow, subject: TokenState | undefined): SubjectFacts {
  const aud = stringList(attribute(row, 'subject_token_aud'))
  const scopes = stringList(attribute(row, 'subject_token_scopes'))
  const mayAct = parseMayAct(row.attributes.subject_token_may_act) ?? subject?.mayAct
  const recordedDepth = attribute(row, 'act_depth')
  const depth =
    typeof recordedDepth === 'number' && Number.isInteger(recordedDepth) && recordedDepth > 0
      ? recordedDepth
      : (subject?.depth ?? 0) + 1
  if (aud !== undefined || scopes !== undefined)
    return {
      audience: canonicalSet(aud ?? subject?.audience ?? []),
      scopes: scopes ?? subject?.scopes ?? [],
      mayAct,
      depth,
      from: 'event',
    }
  if (subject !== undefined && subject.issuedSeen)
    return { audience: subject.audience, scopes: subject.scopes, mayAct, depth, from: 'state' }
  return { audience: [], scopes: [], mayAct, depth, from: 'none' }
}

/** The chain from this exchange back to the issued token, through the engine's token states. */
function chainOf(row: EventRow, ctx: RuleContext<Params>) {
  const chain: { token_key: string; audience: string[]; depth: number }[] = []
  const seen = new Set<string>([row.token_key])
  let key = row.subject_token_key
  while (key !== '' && !seen.has(key) && chain.length < MAX_CHAIN) {
    seen.add(key)
    const s = ctx.tokenState?.(key)
    chain.push({ token_key: key, audience: s?.audience ?? [], depth: s?.depth ?? 0 })
    key = s?.subjectKey ?? ''
  }
  return chain
}

/** Is the acting party (the actor, else the client that asked) one `may_act` names? */
function actorPermitted(row: EventRow, mayAct: MayAct): boolean {
  const sub = row.actor_subject || row.subject
  const clientId = row.actor_client_id || row.client_id
  if (mayAct.sub !== undefined && mayAct.sub !== sub && mayAct.sub !== clientId) return false
  if (mayAct.client_id !== undefined && mayAct.client_id !== clientId) return false
  return true
}

/** Example: 10 s in, files-mcp exchanges the issued token for `at-x` with `scopes` for `aud`. */
const exchangeAt10 = (scopes: string[], aud: string[] = [API], o: object = {}) =>
  ev.exchanged({
    occurred_at: at(10),
    client_id: 'files-mcp',
    token: token({ jti: 'at-x', aud, scopes }),
    ...o,
  })

/** Example: an issued token exchanged three times in a row, each hop's token the next one's subject. */
const threeExchanges = () => [
  ev.issued(),
  ev.exchanged({
    occurred_at: at(10),
    token: token({ jti: 'hop-1', aud: [API], scopes: ['files:read'] }),
  }),
  ev.exchanged({
    occurred_at: at(20),
    subject_token: { jti: 'hop-1' },
    token: token({ jti: 'hop-2', aud: [REPORTS], scopes: ['files:read'] }),
    requested_resources: [REPORTS],
    granted_aud: [REPORTS],
  }),
  ev.exchanged({
    occurred_at: at(30),
    subject_token: { jti: 'hop-2' },
    token: token({ jti: 'hop-3', aud: [API], scopes: ['files:read'] }),
  }),
]

export const delegationChainViolation: EventRule<typeof params> = {
  kind: 'event',
  id: 'delegation-chain-violation',
  title: 'Token exchange widened, misdirected or over-extended a delegation',
  severity: 'high',
  description:
    'A `token.exchanged` (RFC 8693) whose issued token: names more distinct resources than its ' +
    'subject token (alias-aware; not when the registry allows every one of them in a ' +
    'multi-audience token); carries a scope its subject token did not, at the same resource or ' +
    'on top of all the scopes of the subject token (scopes the registry lists for the new ' +
    'audience excepted, by default; the scopes of another resource are not comparable); was ' +
    "obtained by an actor the subject token's " +
    '`may_act` does not name (`sub` or `client_id`; the requesting client when no actor token was ' +
    'given); or ends a chain of more than `maxDepth` exchanges. One detection per violation. The ' +
    "subject token's facts come from the exchange event (`attributes.subject_token_aud`, " +
    '`subject_token_scopes`, `subject_token_may_act`, `act_depth`, which the AS collector records) ' +
    "or from the engine's state of the subject token (its issuance).",
  rationale:
    'RFC 8693 lets a service trade the token it received for one to call the next service: the ' +
    'new token should carry no more than the subject token allowed, only to an actor the subject ' +
    'authorized (`may_act`, §4.4), and each hop adds an `act` layer (§4.1), so a long chain is a ' +
    'long way from the user who consented. An exchange that widens audience or scope is privilege ' +
    'escalation through the AS; one by an unauthorized actor is a confused deputy; a deep chain ' +
    'means agents delegating to agents beyond what anyone reviewed (OWASP ASI03).',
  references: [
    REF.rfc8693s21,
    REF.rfc8693s41,
    REF.rfc8693s44,
    REF.rfc8693s5,
    REF.mcp2026Passthrough,
  ],
  mappings: {
    owasp_nhi: ['NHI5', 'NHI7'],
    owasp_asi: ['ASI03', 'ASI07'],
    nist_csf: ['PR.AA-05', 'DE.CM-09', 'DE.AE-02'],
    nist_800_53: ['AC-6', 'AC-3', 'IA-9', 'SI-4'],
    nist_800_207: ['tenet-3', 'tenet-6'],
    mcp_2026_07_28: [],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'An exchange for a resource the registry does not list yet: its own scopes look like a widening (add the resource and its `scopes`).',
    'A deliberate fan-out token (several audiences) minted by exchange for a batch job: raise the registry’s `multi_audience_allowed` or add an exception.',
    'A `may_act` naming the actor by an identifier the exchange does not record (for example an `iss`/`sub` pair of another issuer).',
  ],
  runbook: [
    'Read `violation` and the subject/issued facts in the evidence; `chain` lists the tokens back to the one the user consented to.',
    'For a widening: fix the AS token-exchange policy so an exchange can only narrow (RFC 8693 §5); revoke the issued token.',
    'For an actor not permitted: find which service asked (`actor`, `client_id`, network) and whether its credentials were stolen.',
    'For a deep chain: review the agents involved; cap delegation depth at the AS.',
  ],
  params,
  dedupKey: ['token_key', 'violation'],
  dedupWindowS: 86_400,
  evaluate(row, _state, ctx) {
    if (row.event_type !== 'token.exchanged' || row.token_key === '') return []
    const subject = ctx.tokenState?.(row.subject_token_key)
    const facts = subjectFacts(row, subject)
    const issuedAud = row.granted_aud.length > 0 ? row.granted_aud : row.token_aud
    const issuedScopes = row.token_scopes
    const found: { violation: Violation; detail: Record<string, unknown> }[] = []

    if (facts.from !== 'none' && facts.audience.length > 0) {
      const before = distinctResources(facts.audience, ctx.registry)
      const after = distinctResources(issuedAud, ctx.registry)
      // A token the registry allows to name several audiences on purpose is not a widening.
      const declared =
        ctx.registry !== undefined &&
        after.every((a) => registryEntry(a, ctx.registry)?.multi_audience_allowed === true)
      if (after.length > before.length && !declared)
        found.push({
          violation: 'wider_audience',
          detail: { subject_audience: before, issued_audience: after },
        })
    }
    if (facts.from !== 'none') {
      const registered = new Set(
        // Only another resource's own scopes: at the subject token's resource, a registered
        // scope it did not carry is still a widening.
        ctx.params.allowRegisteredTargetScopes
          ? issuedAud
              .filter((a) => outsideAudience(a, facts.audience, ctx.registry))
              .flatMap((a) => registryEntry(a, ctx.registry)?.scopes ?? [])
          : [],
      )
      const added = issuedScopes.filter((s) => !facts.scopes.includes(s) && !registered.has(s))
      // Scopes of another resource are not comparable: a widening is one at the same resource
      // (the audiences overlap), or one that keeps every scope of the subject and adds more.
      const sameResource = issuedAud.some((a) => !outsideAudience(a, facts.audience, ctx.registry))
      const superset =
        facts.scopes.length > 0 && facts.scopes.every((s) => issuedScopes.includes(s))
      if (added.length > 0 && (sameResource || superset))
        found.push({
          violation: 'wider_scope',
          detail: { subject_scopes: facts.scopes, issued_scopes: issuedScopes, added },
        })
    }
    if (facts.mayAct !== undefined && !actorPermitted(row, facts.mayAct))
      found.push({
        violation: 'actor_not_permitted',
        detail: {
          may_act: facts.mayAct,
          actor: {
            subject: row.actor_subject || null,
            client_id: row.actor_client_id || null,
            requesting_client_id: row.client_id || null,
          },
        },
      })
    if (facts.depth > ctx.params.maxDepth)
      found.push({
        violation: 'chain_too_deep',
        detail: { depth: facts.depth, max_depth: ctx.params.maxDepth },
      })
    if (found.length === 0) return []
    const chain = chainOf(row, ctx)
    return found.map((f): Detection =>
      detect(
        row,
        { token_key: row.token_key, violation: f.violation },
        {
          violation: f.violation,
          ...f.detail,
          subject_token_key: row.subject_token_key,
          subject_facts_from: facts.from,
          depth: facts.depth,
          chain,
          outside_subject_audience: issuedAud.filter((a) =>
            outsideAudience(a, facts.audience, ctx.registry),
          ),
          client_id: row.client_id,
          issuer: row.issuer,
        },
        f.violation === 'actor_not_permitted' ? { severity: 'critical' } : {},
      ),
    )
  },
  examples: [
    {
      name: 'an exchange that adds audiences the subject token did not have',
      fires: true,
      events: [
        ev.issued(),
        exchangeAt10(['files:read'], [API, REPORTS], {
          requested_resources: [API, REPORTS],
          granted_aud: [API, REPORTS],
        }),
      ],
    },
    {
      name: 'an exchange that adds a scope the subject token did not carry',
      fires: true,
      events: [ev.issued(), exchangeAt10(['files:read', 'files:delete'])],
    },
    {
      name: 'an exchange for the same resource adds a scope registered there',
      fires: true,
      registry: [{ resource: MCP, kind: 'mcp', scopes: ['files:read', 'files:write'] }],
      events: [
        ev.issued(),
        ev.exchanged({
          occurred_at: at(10),
          client_id: 'files-mcp',
          token: token({ jti: 'at-x', aud: [MCP], scopes: ['files:read', 'files:write'] }),
          requested_resources: [MCP],
          granted_aud: [MCP],
        }),
      ],
    },
    {
      name: 'an actor the subject token’s may_act does not name',
      fires: true,
      severity: 'critical',
      events: [
        ev.issued({ attributes: { may_act: { sub: 'files-mcp' } } }),
        exchangeAt10(['files:read'], [API], {
          client_id: 'billing-agent',
          actor: { subject: 'billing-agent', client_id: 'billing-agent' },
        }),
      ],
    },
    {
      name: 'the AS recorded the subject token’s facts on the exchange itself',
      fires: true,
      events: [
        ev.exchanged({
          client_id: 'files-mcp',
          token: token({ jti: 'at-x', aud: [API], scopes: ['files:read', 'admin'] }),
          attributes: { subject_token_aud: [MCP], subject_token_scopes: ['files:read'] },
        }),
      ],
    },
    {
      name: 'a third exchange in a row (maxDepth 2)',
      fires: true,
      params: { maxDepth: 2 },
      events: threeExchanges(),
    },
    {
      name: 'a narrowing exchange for the downstream API by the permitted actor',
      fires: false,
      registry: [
        { resource: MCP, kind: 'mcp', scopes: ['files:read'] },
        { resource: API, kind: 'api', scopes: ['orders:read'] },
      ],
      events: [
        ev.issued({ attributes: { may_act: { client_id: 'files-mcp' } } }),
        exchangeAt10(['orders:read'], [API], { actor: { client_id: 'files-mcp' } }),
      ],
    },
    {
      name: 'three exchanges in a chain within the default depth',
      fires: false,
      events: threeExchanges(),
    },
    {
      name: 'an exchange for another resource gets that resource’s own scopes',
      fires: false,
      events: [
        ev.issued({
          granted_scopes: ['openid', 'files:read'],
          token: token({ scopes: ['openid', 'files:read'] }),
        }),
        exchangeAt10(['orders:read']),
      ],
    },
    {
      name: 'an exchange whose subject token was never seen',
      fires: false,
      events: [
        ev.exchanged({
          subject_token: { jti: 'unknown' },
          token: token({ jti: 'at-x', aud: [API], scopes: ['anything'] }),
        }),
      ],
    },
  ],
}
