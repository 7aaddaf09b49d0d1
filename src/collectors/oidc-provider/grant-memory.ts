/** The last granted `aud` of each grant, to mark a refresh that switches resource. */

/** The last granted `aud` per grant, least recently used first out, bounded. */
export class GrantMemory {
  readonly #max: number
  readonly #map = new Map<string, string[]>()

  constructor(max: number) {
    this.#max = max
  }

  get(grantId: string): string[] | undefined {
    return this.#map.get(grantId)
  }

  set(grantId: string, aud: string[]): void {
    if (this.#max <= 0) return
    this.#map.delete(grantId)
    this.#map.set(grantId, aud)
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!)
  }
}
