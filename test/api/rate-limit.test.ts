import { describe, expect, it } from 'vitest'
import type { Authenticate } from '../../src/api/auth.js'
import { ApiError } from '../../src/api/errors.js'
import { rateLimited } from '../../src/api/rate-limit.js'

const byHeader: Authenticate = async (authorization) => ({
  subject: authorization ?? 'anonymous',
  roles: ['viewer'],
  tenant: 'acme',
})

describe('rateLimited', () => {
  it('allows a burst, then answers 429 with Retry-After, and refills over time', async () => {
    let now = 0
    const limited = rateLimited(byHeader, { perSecond: 2, burst: 3, now: () => now })
    for (let i = 0; i < 3; i++)
      await expect(limited('alice')).resolves.toMatchObject({ subject: 'alice' })
    const err = await limited('alice').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({
      statusCode: 429,
      code: 'ERR_RATE_LIMITED',
      headers: { 'retry-after': '1' },
    })
    now += 500
    await expect(limited('alice')).resolves.toMatchObject({ subject: 'alice' })
    await expect(limited('alice')).rejects.toMatchObject({ statusCode: 429 })
  })

  it('keeps one bucket per caller', async () => {
    const limited = rateLimited(byHeader, { perSecond: 1, burst: 1, now: () => 0 })
    await limited('alice')
    await expect(limited('alice')).rejects.toMatchObject({ statusCode: 429 })
    await expect(limited('bob')).resolves.toMatchObject({ subject: 'bob' })
  })

  it('does not count requests that fail authentication against a caller', async () => {
    const failing: Authenticate = async () => {
      throw new ApiError(401, 'ERR_AUTH_INVALID', 'no')
    }
    const limited = rateLimited(failing, { perSecond: 1, burst: 1, now: () => 0 })
    await expect(limited('x')).rejects.toMatchObject({ statusCode: 401 })
    await expect(limited('x')).rejects.toMatchObject({ statusCode: 401 })
  })
})
