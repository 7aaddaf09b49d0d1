/**
 * Alert payloads and AUDTRAIL_PUBLIC_URL (issue 23, items 1 and 3): RFC 3339 times everywhere in
 * an alert, evidence included, and absolute links to the finding's console page, API and runbook
 * when a public URL is configured (a bare finding id without one).
 */
import { describe, expect, it } from 'vitest'
import { toAlert, toOcsf, toSlack } from '../../src/alerting/formats.js'
import { createOutbox } from '../../src/alerting/outbox.js'
import type { RecordedFinding } from '../../src/detection/findings-store.js'
import { createLogger } from '../../src/logger.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'

const ID = '0123456789abcdef0123456789abcdef'
const PUBLIC = 'https://audtrail.example.com/'

const finding: RecordedFinding = {
  tenant: 'acme',
  finding_id: ID,
  rule_id: 'cross-audience-replay',
  severity: 'critical',
  title: 'Token replayed at a resource outside its audience',
  keys: { token_key: 'tk/1 x', resource: 'https://b.example/mcp', client_id: 'agent-7' },
  token_key: 'tk/1 x',
  client_id: 'agent-7',
  resource: 'https://b.example/mcp',
  evidence: JSON.stringify({
    event_ids: ['e1'],
    current: { occurred_at: '2026-12-07 12:47:09.252', resource: 'https://b.example/mcp' },
    presentations: [{ first_seen: '2026-12-07T12:40:00.000Z', count: 2 }],
  }),
  mappings: '{}',
  first_seen: '2026-12-07 12:40:00.000',
  last_seen: '2026-12-07 12:47:09.252',
  count: 3,
  updated_at: '2026-12-07 12:47:10.000',
  version: 1,
}

describe('alerts', () => {
  it('spells every time RFC 3339 UTC, inside the evidence too', () => {
    const alert = toAlert('a1', finding)
    expect(alert.first_seen).toBe('2026-12-07T12:40:00.000Z')
    expect(alert.last_seen).toBe('2026-12-07T12:47:09.252Z')
    expect(alert.evidence).toMatchObject({
      current: { occurred_at: '2026-12-07T12:47:09.252Z', resource: 'https://b.example/mcp' },
      presentations: [{ first_seen: '2026-12-07T12:40:00.000Z', count: 2 }],
    })
    expect(toOcsf(alert)).toMatchObject({ time: Date.parse('2026-12-07T12:47:09.252Z') })
  })

  it('links to the console page, the API, the runbook and the token under the public URL', () => {
    const alert = toAlert('a1', finding, PUBLIC.replace(/\/$/, ''))
    expect(alert.links).toEqual({
      self: `https://audtrail.example.com/v1/findings/${ID}`,
      events: `https://audtrail.example.com/v1/events?finding=${ID}`,
      rule: 'https://audtrail.example.com/v1/rules/cross-audience-replay',
      console: `https://audtrail.example.com/findings/${ID}`,
      token: 'https://audtrail.example.com/v1/tokens/tk%2F1%20x',
    })
    const slack = JSON.stringify(toSlack(alert))
    expect(slack).toContain(`<https://audtrail.example.com/findings/${ID}|Open finding ${ID}`)
    expect(slack).toContain(`<https://audtrail.example.com/v1/findings/${ID}|API>`)
    expect(toOcsf(alert)).toMatchObject({
      finding_info: { src_url: `https://audtrail.example.com/findings/${ID}` },
    })
  })

  it('carries no links without a public URL: Slack names the finding id', () => {
    const alert = toAlert('a1', finding)
    expect(alert.links).toBeUndefined()
    const slack = JSON.stringify(toSlack(alert))
    expect(slack).toContain(`finding \`${ID}\``)
    expect(slack).not.toContain('/findings/')
    expect((toOcsf(alert).finding_info as Record<string, unknown>).src_url).toBeUndefined()
  })

  it('queues alerts with the links of the configured public URL (webhook payload)', async () => {
    const storage = createMemoryRepositories()
    const outbox = createOutbox({
      storage,
      notifiers: [],
      channels: ['webhook'],
      minSeverity: 'medium',
      logger: createLogger('silent'),
      publicUrl: 'https://audtrail.example.com',
    })
    expect(await outbox.enqueue([finding])).toBe(1)
    const [row] = storage.tables.alerts
    expect(JSON.parse(row!.payload).links.console).toBe(
      `https://audtrail.example.com/findings/${ID}`,
    )
  })
})
