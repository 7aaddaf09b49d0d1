/**
 * The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), the part OTLP
 * uses: varints, 64-bit and 32-bit fixed fields, length-delimited fields; groups only skipped.
 * Small and ours, so that the server package takes no runtime dependency for OTLP (protobufjs is a
 * development package here; the tests check against the OpenTelemetry SDK's own encoders).
 * Every read checks the end of the buffer: a truncated body throws a RangeError, never reads past.
 */

export const WIRE = {
  varint: 0,
  fixed64: 1,
  len: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const

/** Groups nested deeper than this are refused (protoc's default recursion limit). */
const GROUP_DEPTH = 100

const utf8 = new TextDecoder('utf-8')

export class WireReader {
  pos = 0
  readonly len: number
  readonly #view: DataView

  constructor(readonly buf: Uint8Array) {
    this.len = buf.length
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  #need(n: number): void {
    if (this.pos + n > this.len) throw new RangeError('truncated: read past the end of the body')
  }

  /** A varint as a BigInt (up to 64 bits; a longer one is malformed). */
  varint(): bigint {
    let result = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.#need(1)
      const byte = this.buf[this.pos++]!
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result)
    }
    throw new RangeError('a varint longer than 10 bytes')
  }

  /** A varint of at most 32 significant bits (tags, lengths): a number. */
  uint32(): number {
    // Fast path: tags and lengths are mostly one or two bytes.
    let result = 0
    for (let shift = 0; shift < 28; shift += 7) {
      this.#need(1)
      const byte = this.buf[this.pos++]!
      result |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result >>> 0
    }
    this.pos -= 4
    return Number(BigInt.asUintN(32, this.varint()))
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()))
  }

  int64(): bigint {
    return BigInt.asIntN(64, this.varint())
  }

  bool(): boolean {
    return this.varint() !== 0n
  }

  fixed64(): bigint {
    this.#need(8)
    const v = this.#view.getBigUint64(this.pos, true)
    this.pos += 8
    return v
  }

  double(): number {
    this.#need(8)
    const v = this.#view.getFloat64(this.pos, true)
    this.pos += 8
    return v
  }

  bytes(): Uint8Array {
    const n = this.uint32()
    this.#need(n)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string(): string {
    return utf8.decode(this.bytes())
  }

  /** Skips a field of wire type `wt` (its tag already read). */
  skipType(wt: number, depth = 0): void {
    switch (wt) {
      case WIRE.varint:
        this.varint()
        return
      case WIRE.fixed64:
        this.#need(8)
        this.pos += 8
        return
      case WIRE.len: {
        const n = this.uint32()
        this.#need(n)
        this.pos += n
        return
      }
      case WIRE.startGroup: {
        if (depth >= GROUP_DEPTH) throw new RangeError('groups nested too deep')
        for (;;) {
          const tag = this.uint32()
          if ((tag & 7) === WIRE.endGroup) return
          this.skipType(tag & 7, depth + 1)
        }
      }
      case WIRE.fixed32:
        this.#need(4)
        this.pos += 4
        return
      default:
        throw new RangeError(`invalid wire type ${wt} at offset ${this.pos}`)
    }
  }
}

/** Writes the few fields an OTLP answer has (and the tests' hand-built hostile bodies). */
export class WireWriter {
  readonly #parts: Uint8Array[] = []
  #length = 0

  #push(part: Uint8Array): this {
    this.#parts.push(part)
    this.#length += part.length
    return this
  }

  tag(field: number, wt: number): this {
    return this.varint(BigInt((field << 3) | wt))
  }

  varint(value: bigint): this {
    const out: number[] = []
    let v = BigInt.asUintN(64, value)
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
    return this.#push(Uint8Array.from(out))
  }

  bytes(data: Uint8Array): this {
    return this.varint(BigInt(data.length)).#push(data)
  }

  string(text: string): this {
    return this.bytes(new TextEncoder().encode(text))
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let at = 0
    for (const part of this.#parts) {
      out.set(part, at)
      at += part.length
    }
    return out
  }
}
