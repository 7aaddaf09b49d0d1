/** A bounded FIFO: the emitter reads a batch from the head and removes it only once it is handled. */

export class BoundedQueue<T> {
  #items: T[] = []
  #head = 0
  readonly max: number

  constructor(max: number) {
    this.max = max
  }

  get length(): number {
    return this.#items.length - this.#head
  }

  /** Appends `item`; false (nothing stored) when the queue is full. */
  push(item: T): boolean {
    if (this.length >= this.max) return false
    this.#items.push(item)
    return true
  }

  /** The first `n` items, without removing them. */
  peek(n: number): T[] {
    return this.#items.slice(this.#head, this.#head + n)
  }

  /** Removes the first `n` items. */
  drop(n: number): void {
    this.#head += Math.min(n, this.length)
    // Compact now and then instead of shifting the array on every batch.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
  }

  clear(): void {
    this.#items = []
    this.#head = 0
  }
}
