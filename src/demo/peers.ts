/**
 * Starts the demo's peers on loopback ephemeral ports, each with its own emitter posting to the
 * ingest endpoint of `audtrail serve` (`{ type: 'http' }`): the events take the real
 * `/v1/ingest` path, and wait in the emitters' queues while serve is still starting.
 */
import { createEmitter, type AudtrailEmitter } from '../collectors/emitter/index.js'
import { startAuthorizationServer, type DemoAuthorizationServer } from './authorization-server.js'
import type { Listening } from './mcp-server.js'
import { startApi, startMcpServerA, startMcpServerB } from './resource-servers.js'

export interface Peers {
  as: DemoAuthorizationServer
  mcpA: Listening
  mcpB: Listening
  api: Listening
  /** an emitter of the agent's own (its backdated usage history) */
  history: AudtrailEmitter
  /** Sends everything the collectors queued. */
  flush(): Promise<void>
  /** Emitted, sent and dropped events over all emitters. */
  stats(): { emitted: number; sent: number; dropped: number }
  close(): Promise<void>
}

export function ingestEmitter(ingestUrl: string): AudtrailEmitter {
  return createEmitter({
    transport: { type: 'http', url: ingestUrl },
    flushIntervalMs: 200,
    batchSize: 500,
    retryInitialMs: 200,
    retryMaxMs: 1000,
    closeOnExit: false,
  })
}

export async function startPeers(ingestUrl: string): Promise<Peers> {
  const emitters = Array.from({ length: 5 }, () => ingestEmitter(ingestUrl))
  const [asEmitter, aEmitter, bEmitter, apiEmitter, history] = emitters as [
    AudtrailEmitter,
    AudtrailEmitter,
    AudtrailEmitter,
    AudtrailEmitter,
    AudtrailEmitter,
  ]
  const started: { close(): Promise<void> }[] = []
  try {
    const as = await startAuthorizationServer(asEmitter)
    started.push(as)
    const [mcpA, mcpB, api] = await Promise.all([
      startMcpServerA(as, aEmitter),
      startMcpServerB(as, bEmitter),
      startApi(as, apiEmitter),
    ])
    started.push(mcpA, mcpB, api)
    return {
      as,
      mcpA,
      mcpB,
      api,
      history,
      flush: async () => {
        await Promise.all(emitters.map((e) => e.flush()))
      },
      stats: () =>
        emitters
          .map((e) => e.stats())
          .reduce(
            (sum, s) => ({
              emitted: sum.emitted + s.emitted,
              sent: sum.sent + s.sent,
              dropped: sum.dropped + s.dropped,
            }),
            { emitted: 0, sent: 0, dropped: 0 },
          ),
      close: async () => {
        await Promise.all(started.map((s) => s.close().catch(() => {})))
        await Promise.all(emitters.map((e) => e.close()))
      },
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.close().catch(() => {})))
    await Promise.all(emitters.map((e) => e.close()))
    throw err
  }
}
