import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorSchema } from '../../src/api/errors.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, testStorage } from '../helpers/storage.js'

let app: FastifyInstance
let port: number

beforeAll(async () => {
  const keys = await apiKeys()
  app = await testApp(keys, { storage: testStorage('api_client_errors') })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

/** Sends raw bytes and gives back the status and the body of the answer. */
function raw(request: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let text = ''
    socket.on('data', (d) => (text += String(d)))
    socket.on('error', reject)
    socket.on('close', () => {
      const [head, body] = text.split('\r\n\r\n')
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1]),
        body: JSON.parse(body!),
      })
    })
  })
}

describe('requests the HTTP parser refuses', () => {
  it('answer an URL over 16 KiB with 431 in the error model', async () => {
    const res = await raw(
      `GET /v1/events?resource=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    )
    expect(res.status).toBe(431)
    expect(ErrorSchema.parse(res.body)).toMatchObject({ code: 'ERR_HEADERS_TOO_LARGE' })
  })

  it('answer a malformed request line with 400 in the error model', async () => {
    const res = await raw('GET /v1/events HTTP/1.1 nonsense\r\n\r\n')
    expect(res.status).toBe(400)
    expect(ErrorSchema.parse(res.body)).toMatchObject({ code: 'ERR_BAD_REQUEST' })
  })
})
