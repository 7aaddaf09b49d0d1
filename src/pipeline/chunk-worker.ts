/**
 * The consumer's validation worker (a worker thread, see chunk-validator.ts): decodes, validates,
 * enriches and encodes each chunk it is sent, and runs the event rules on its valid events with
 * the token state it took over from the detector. It holds no connection and writes nothing.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { evaluatorFromHandOff } from '../detection/engine.js'
import { RULES } from '../detection/rules/index.js'
import { parseResourceRegistry } from '../resource-registry.js'
import { validateChunk, type ChunkInput } from './chunk.js'
import type { WorkerInit, WorkerReply } from './chunk-validator.js'

const init = workerData as WorkerInit
const registry = init.registry ? parseResourceRegistry(init.registry) : undefined
let ruleErrors: [string, string][] = []
const evaluator = init.evaluation
  ? evaluatorFromHandOff(init.evaluation, RULES, registry, (rule, err) =>
      ruleErrors.push([rule, String(err)]),
    )
  : undefined
const context = {
  retentionDays: init.retentionDays,
  aliases: registry?.aliases,
  evaluator,
  digests: init.digests,
}

parentPort!.on('message', ({ id, input }: { id: number; input: ChunkInput }) => {
  let reply: WorkerReply
  const transfer: ArrayBuffer[] = []
  try {
    const chunk = validateChunk(input, context)
    // The body's allocation is its own (EncodedEventsBuilder): moved, not copied.
    transfer.push(chunk.events.body.buffer as ArrayBuffer)
    reply = { id, ok: true, chunk, ruleErrors }
  } catch (err) {
    reply = { id, ok: false, error: String(err) }
  }
  ruleErrors = []
  parentPort!.postMessage(reply, transfer)
})
