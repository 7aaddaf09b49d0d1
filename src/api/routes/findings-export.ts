/**
 * Findings for SIEMs (issue 23, item 7): `GET /v1/findings/export?format=ndjson|csv|ocsf|ecs`
 * with the filters of the findings list, for the caller's tenant. The answer is streamed: pages of
 * EXPORT_PAGE findings are read from storage in turn (keyset cursor, newest first) and written as
 * they come, so no export is held in memory whole. The first page is read before the answer
 * starts: a storage outage then is a 503 like any route's; one later cuts the stream short (the
 * client sees an incomplete body, never a partial one presented as whole: CSV and NDJSON end
 * every record with a line end). The CLI (`audtrail export findings`) reads the same pages.
 */
import { Readable } from 'node:stream'
import { z } from 'zod'
import { EXPORT_FORMATS, EXPORT_MEDIA, exportChunks } from '../../exports/stream.js'
import { PRODUCER, type ExportFinding } from '../../exports/finding.js'
import type { Repositories } from '../../storage/repositories.js'
import { withTriageFields } from '../finding-triage.js'
import { tenantOf } from '../params.js'
import { defineRoute } from '../route.js'
import { type FindingFilter, findingsPage, ListQuery, presentFinding } from './findings.js'

/** Findings read from storage per page of an export. */
export const EXPORT_PAGE = 500

/** The list's filters (no paging: an export has every match). */
export const ExportFilter = ListQuery.omit({ limit: true, cursor: true })
export type ExportFilter = z.output<typeof ExportFilter>

export const ExportQuery = ExportFilter.extend({
  format: z.enum(EXPORT_FORMATS).default('ndjson'),
})

/**
 * The findings of `tenant` that `filter` matches, page by page, newest first, as the API presents
 * them (with their triage fields).
 */
export async function* findingPages(
  storage: Pick<Repositories, 'findings' | 'exceptions' | 'triageHistory'>,
  tenant: string,
  filter: FindingFilter,
  pageSize = EXPORT_PAGE,
  publicUrl?: string,
): AsyncGenerator<ExportFinding[]> {
  let cursor: string | undefined
  for (;;) {
    const { rows, next } = await findingsPage(storage, tenant, filter, pageSize, cursor)
    const page = await withTriageFields(
      storage,
      tenant,
      rows.map((r) => presentFinding(r, publicUrl)),
    )
    yield page as unknown as ExportFinding[]
    if (next === null) return
    cursor = next
  }
}

/** The pages of `rest` after `first` (already read). */
async function* resume<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  if (first.done) return
  yield first.value
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value
}

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/findings/export',
    operationId: 'exportFindings',
    summary: 'Export findings (NDJSON, CSV, OCSF Detection Finding 2004, ECS), streamed',
    role: 'viewer',
    serves: 'queries',
    query: ExportQuery,
    responses: {
      200: {
        description:
          'every finding the filters match, newest first, as an attachment: ndjson (the Finding of the list, one per line), csv (RFC 4180, formula cells neutralised), ocsf (OCSF 1.3.0 Detection Finding, one per line), ecs (ECS 8.11 alert documents, one per line)',
        content: {
          'application/x-ndjson': { type: 'string' },
          'text/csv': { type: 'string' },
        },
      },
    },
    handler: async ({ reply, caller, query: q, deps: { storage, publicUrl } }) => {
      const { format, ...filter } = q
      const tenant = tenantOf(caller, q.tenant)
      const pages = findingPages(storage, tenant, filter, EXPORT_PAGE, publicUrl)
      const first = await pages.next()
      const media = EXPORT_MEDIA[format]
      return reply
        .type(media.type)
        .header('content-disposition', `attachment; filename="findings.${media.extension}"`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .send(Readable.from(exportChunks(resume(first, pages), format, PRODUCER)))
    },
  }),
]
