/**
 * A scalable Bloom filter over strings: `has` may answer true for a key never added (rarely, about
 * `falsePositiveRate` per layer) but never false for a key that was added. It grows by adding
 * layers of doubling capacity, so its memory follows what it holds.
 */

/** 32-bit FNV-1a of a string's UTF-16 code units, with a murmur3 finalizer for the high bits. */
function hash32(key: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

class Layer {
  readonly bits: Uint32Array
  readonly size: number
  count = 0

  constructor(
    readonly capacity: number,
    readonly hashes: number,
    bitsPerKey: number,
  ) {
    this.size = Math.max(64, Math.ceil((capacity * bitsPerKey) / 32) * 32)
    this.bits = new Uint32Array(this.size / 32)
  }

  add(h1: number, h2: number): void {
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0
      const at = bit % this.size
      this.bits[at >>> 5]! |= 1 << (at & 31)
    }
    this.count += 1
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0
      const at = bit % this.size
      if ((this.bits[at >>> 5]! & (1 << (at & 31))) === 0) return false
    }
    return true
  }
}

export class ScalableBloom {
  private readonly layers: Layer[] = []
  private readonly hashes: number
  private readonly bitsPerKey: number

  /** `falsePositiveRate` applies per layer; the filter's own rate is at most their sum. */
  constructor(
    private readonly initialCapacity = 65_536,
    falsePositiveRate = 1e-5,
  ) {
    this.bitsPerKey = -Math.log(falsePositiveRate) / Math.LN2 ** 2
    this.hashes = Math.max(1, Math.round(this.bitsPerKey * Math.LN2))
  }

  get size(): number {
    return this.layers.reduce((n, l) => n + l.count, 0)
  }

  add(key: string): void {
    let layer = this.layers[this.layers.length - 1]
    if (layer === undefined || layer.count >= layer.capacity) {
      layer = new Layer(
        (layer?.capacity ?? this.initialCapacity / 2) * 2,
        this.hashes,
        this.bitsPerKey,
      )
      this.layers.push(layer)
    }
    layer.add(hash32(key, 0), hash32(key, 0x9e3779b9) | 1)
  }

  has(key: string): boolean {
    if (this.layers.length === 0) return false
    const h1 = hash32(key, 0)
    const h2 = hash32(key, 0x9e3779b9) | 1
    for (const layer of this.layers) if (layer.has(h1, h2)) return true
    return false
  }
}
