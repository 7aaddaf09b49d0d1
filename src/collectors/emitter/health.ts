/** Transport health: up or down, and when to retry (capped exponential backoff with jitter). */
import type { Logger } from 'pino'

export class TransportHealth {
  down = false
  /** when a down transport may be tried again (ms since epoch) */
  retryAt = 0
  #since = 0
  #attempts = 0
  readonly #log: Logger
  readonly #name: string
  readonly #initialMs: number
  readonly #maxMs: number

  constructor(log: Logger, name: string, initialMs: number, maxMs: number) {
    this.#log = log
    this.#name = name
    this.#initialMs = initialMs
    this.#maxMs = maxMs
  }

  /** A failed send: the first one logs a warning, the next ones (the retries) only at debug. */
  failed(err: unknown, spooling: boolean): void {
    this.#attempts += 1
    const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempts - 1, 30))
    // ±20 % jitter, so emitters that lost the same peer do not retry in lockstep.
    this.retryAt = Date.now() + Math.round(delay * (0.8 + Math.random() * 0.4))
    if (this.down) {
      this.#log.debug(
        { err: errorMessage(err), attempts: this.#attempts },
        'transport still unavailable',
      )
      return
    }
    this.down = true
    this.#since = Date.now()
    this.#log.warn(
      { transport: this.#name, err: errorMessage(err), spooling },
      'transport unavailable; holding events',
    )
  }

  succeeded(): void {
    if (this.down) {
      const downMs = Date.now() - this.#since
      this.#log.info(
        { transport: this.#name, downMs, attempts: this.#attempts },
        'transport available again',
      )
    }
    this.down = false
    this.#attempts = 0
  }

  /** true while down and the next retry is not due yet */
  waiting(): boolean {
    return this.down && Date.now() < this.retryAt
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
