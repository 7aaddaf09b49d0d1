import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort, portAvailable } from '../../src/demo/serve-process.js'

describe('the demo port', () => {
  it('is available when nothing listens on it, and taken while something does', async () => {
    const port = await freePort()
    expect(await portAvailable(port)).toBe(true)
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    try {
      expect(await portAvailable(port)).toBe(false)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
    expect(await portAvailable(port)).toBe(true)
  })
})
