/**
 * Starts the demo's peers on loopback ephemeral ports, each with its own emitter posting to the
 * ingest endpoint of `audtrail serve` (`{ type: 'http' }`): the events take the real
 * `/v1/ingest` path, and wait in the emitters' queues while serve is still starting.
 *
 * With `audtrail` clients, the authorization server also signs audtrail's callers in: the
 * emitters send the machine client's token (client credentials, role `ingest`), minted by the
 * AS once it listens; what the AS emits before that waits in a queue of its own.
 */
import { createEmitter, type AudtrailEmitter } from '../collectors/emitter/index.js'
import type { AuditEventInput } from '../events/schema.js'
import type { Emitter } from '../collectors/types.js'
import { machineToken } from './api-client.js'
import {
  startAuthorizationServer,
  type ConsoleClient,
  type DemoAuthorizationServer,
  type MachineClient,
} from './authorization-server.js'
import type { Listening } from './mcp-server.js'
import { startApi, startMcpServerA, startMcpServerB } from './resource-servers.js'

export interface Peers {
  as: DemoAuthorizationServer
  mcpA: Listening
  mcpB: Listening
  api: Listening
  /** an emitter of the agent's own (its backdated usage history) */
  history: AudtrailEmitter
  /** the machine client's access token for the audtrail API (with `audtrail.machine`) */
  apiToken: string | undefined
  /** Sends everything the collectors queued. */
  flush(): Promise<void>
  /** Emitted, sent and dropped events over all emitters. */
  stats(): { emitted: number; sent: number; dropped: number }
  close(): Promise<void>
}

export function ingestEmitter(ingestUrl: string, token?: string): AudtrailEmitter {
  return createEmitter({
    transport: { type: 'http', url: ingestUrl, ...(token === undefined ? {} : { token }) },
    flushIntervalMs: 200,
    batchSize: 500,
    retryInitialMs: 200,
    retryMaxMs: 1000,
    closeOnExit: false,
  })
}

/** An emitter that queues until the real one exists (the AS's, before its token is minted). */
class LateEmitter implements Emitter {
  private target: Emitter | undefined
  private readonly queued: AuditEventInput[] = []
  emit(event: AuditEventInput): void {
    if (this.target) this.target.emit(event)
    else if (this.queued.length < 10_000) this.queued.push(event)
  }
  attach(target: Emitter): void {
    this.target = target
    for (const event of this.queued.splice(0)) target.emit(event)
  }
  async flush(): Promise<void> {
    await this.target?.flush()
  }
  async close(): Promise<void> {
    await this.target?.close()
  }
  stats() {
    return this.target!.stats()
  }
}

export async function startPeers(
  ingestUrl: string,
  audtrail: { console?: ConsoleClient; machine?: MachineClient } = {},
): Promise<Peers> {
  const emitters: AudtrailEmitter[] = []
  const started: { close(): Promise<void> }[] = []
  const asEmitter = new LateEmitter()
  try {
    const as = await startAuthorizationServer(asEmitter, audtrail)
    started.push(as)
    const apiToken = audtrail.machine ? await machineToken(as.issuer, audtrail.machine) : undefined
    emitters.push(...Array.from({ length: 5 }, () => ingestEmitter(ingestUrl, apiToken)))
    const [asReal, aEmitter, bEmitter, apiEmitter, history] = emitters as [
      AudtrailEmitter,
      AudtrailEmitter,
      AudtrailEmitter,
      AudtrailEmitter,
      AudtrailEmitter,
    ]
    asEmitter.attach(asReal)
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
      apiToken,
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
