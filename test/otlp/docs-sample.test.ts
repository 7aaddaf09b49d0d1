/**
 * The sample of docs/otlp.md, end to end: its OTLP JSON request posted to the API, the answer and
 * the stored event compared with the documented blocks; and the `audtrail.*` table of the page
 * compared with the attributes the profile reads.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { AuditEvent } from '../../src/events/schema.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import type { IngestTarget } from '../../src/pipeline/ingest.js'
import { AUDTRAIL_ATTRIBUTES } from '../../src/otlp/profiles/audtrail.js'
import { testApp } from '../helpers/api-app.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { section, table } from '../helpers/markdown.js'

const DOC = readFileSync(new URL('../../docs/otlp.md', import.meta.url), 'utf8')

/** The ```json block after `<!-- otlp-sample: name -->`. */
function block(name: string): unknown {
  const at = DOC.indexOf(`<!-- otlp-sample: ${name} -->`)
  if (at < 0) throw new Error(`docs/otlp.md: no sample ${name}`)
  const open = DOC.indexOf('```json\n', at)
  const close = DOC.indexOf('\n```', open + 8)
  return JSON.parse(DOC.slice(open + 8, close))
}

const stored: AuditEvent[] = []
const target: IngestTarget = {
  stores: true,
  async write(accepted) {
    stored.push(...accepted.map((a) => a.event))
  },
}
let app: FastifyInstance
let token: string

beforeAll(async () => {
  const keys = await apiKeys()
  const metrics = new Metrics()
  // The sample's time is fixed: the longest retention keeps it inside the window for good.
  app = await testApp(keys, {
    metrics,
    ingest: { target, retentionDays: 36_500, pipeline: pipelineMetrics(metrics) },
  })
  token = await keys.token({ roles: ['ingest'], tenant: 'acme' })
})
afterAll(() => app.close())

describe('docs/otlp.md', () => {
  it('the sample request is answered and stored as documented', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/otlp/logs',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      payload: JSON.stringify(block('request')),
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual(block('answer'))
    expect(stored).toHaveLength(1)
    expect(JSON.parse(JSON.stringify(stored[0]))).toEqual(block('event'))
  })

  it('lists every audtrail.* attribute the profile reads, and no other', () => {
    const rows = table(section(DOC, '### The `audtrail.*` attributes'), 'attribute')
    const documented = rows.map((r) => r[0]!.replace(/`/g, '').replace(/^audtrail\./, ''))
    expect(documented.sort()).toEqual([...AUDTRAIL_ATTRIBUTES].sort())
  })
})
