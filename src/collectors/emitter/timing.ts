/** Promise deadlines for the emitter; their timers are unref'd so they never keep a process alive. */
import { AudtrailError } from '../../errors.js'

/** Rejects with a retriable ERR_TRANSPORT_UNAVAILABLE when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const message = `send timed out after ${ms} ms`
      reject(new AudtrailError('ERR_TRANSPORT_UNAVAILABLE', message, { retriable: true }))
    }, ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** true when `work` settled within `ms`; never rejects, even when `work` throws synchronously. */
export async function settleWithin(work: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
    timer.unref()
  })
  const settled = (async () => work())().then(
    () => true,
    () => true,
  )
  try {
    return await Promise.race([settled, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Calls `fn` and turns a synchronous throw (or a non-promise result) into a promise. */
export function attempt<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (err) {
    return Promise.reject(err)
  }
}
