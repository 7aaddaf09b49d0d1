/** The error codes docs/api.md documents, each with its status, and a check of an error answer. */
import { readFileSync } from 'node:fs'
import { expect } from 'vitest'
import { holdsRawJwt } from '../../src/events/raw-token.js'

/** `code -> status` from the table under "### Errors" in docs/api.md. */
export function documentedErrors(): Map<string, number> {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8')
  const section = doc.slice(doc.indexOf('### Errors'))
  const rows = [...section.matchAll(/^\|\s*`(ERR_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)]
  return new Map(rows.map((m) => [m[1]!, Number(m[2])]))
}

/**
 * An error answer in the error model: exactly statusCode, code and message, the status that of
 * the answer, the code documented with that status, JSON, no raw JWT in it.
 */
export function expectErrorModel(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  code?: string,
): { statusCode: number; code: string; message: string } {
  const documented = documentedErrors()
  expect(String(res.headers['content-type']), res.body).toMatch(/^application\/json/)
  const body = JSON.parse(res.body) as Record<string, unknown>
  expect(Object.keys(body).sort(), res.body).toEqual(['code', 'message', 'statusCode'])
  expect(body.statusCode).toBe(res.statusCode)
  expect(typeof body.message).toBe('string')
  expect(documented.get(body.code as string), `${String(body.code)} documented`).toBe(
    res.statusCode,
  )
  if (code !== undefined) expect(body.code, res.body).toBe(code)
  expect(holdsRawJwt(res.body)).toBe(false)
  return body as { statusCode: number; code: string; message: string }
}
