/** Validation workers the tests can reach: to kill one under the validator, as a crash would. */
import { Worker } from 'node:worker_threads'
import type { WorkerFactory } from '../../src/pipeline/chunk-validator.js'

/** A worker factory that keeps the workers it starts in `workers`. */
export function holding(workers: Worker[]): WorkerFactory {
  return (script, options) => {
    const worker = new Worker(script, options)
    workers.push(worker)
    return worker
  }
}
