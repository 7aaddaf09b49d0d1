/** Contract checks beyond the JSON shape: a token exchange must name the token it exchanged. */
import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../src/events/index.js'
import { loadExamples } from '../helpers/examples.js'

const exchanged = () =>
  structuredClone(loadExamples('valid').find(([f]) => f === 'token-exchanged.json')![1]) as Record<
    string,
    unknown
  >

describe('parseEvent on token.exchanged', () => {
  it('accepts the shipped example (the control case)', () => {
    expect(parseEvent(exchanged()).ok).toBe(true)
  })

  it('refuses an empty subject_token ({}): it identifies no token', () => {
    const input = { ...exchanged(), subject_token: {} }
    const result = parseEvent(input)
    expect(result.ok).toBe(false)
    expect(result.ok ? [] : result.reasons).toContain(
      'subject_token: must carry at least one of jti, fingerprint',
    )
  })
})
