import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { createStorage } from '../../src/storage/client.js'

// What a ClickHouse server is sent for an encoded insert: the request alone is checked here (the
// embedded engine runs the same rows in the events tests).
const requests: { url: string; body: string }[] = []
const server = createServer((req: IncomingMessage, res) => {
  let body = ''
  req.on('data', (d: Buffer) => (body += d.toString()))
  req.on('end', () => {
    requests.push({ url: req.url ?? '', body })
    res.setHeader('X-ClickHouse-Summary', '{}')
    res.end('')
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as AddressInfo
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('an encoded insert to a ClickHouse server', () => {
  it('names the columns, the format and its settings, and sends the lines as they are', async () => {
    const storage = createStorage({ url: `http://127.0.0.1:${port}`, database: 'd', dataDir: '.' })
    const body = '["a",["x\\"y"]]\n["b",[]]'
    await storage.insertEncoded('d.events', ['tenant', 'token_aud'], Buffer.from(body), {
      insert_deduplication_token: 'tok',
    })
    await storage.close()
    expect(requests).toHaveLength(1)
    const url = new URL(requests[0]!.url, 'http://x')
    expect(url.searchParams.get('query')).toBe(
      'INSERT INTO d.events (tenant, token_aud) FORMAT JSONCompactEachRow',
    )
    expect(url.searchParams.get('insert_deduplication_token')).toBe('tok')
    expect(url.searchParams.get('async_insert')).toBe('0')
    expect(requests[0]!.body).toBe(body)
  })
})
