/**
 * OTLP records as audtrail reads them: one shape for log records and spans, whichever encoding
 * (protobuf: wire.ts, JSON: json.ts) they came in. Only what the mapping profiles read is kept;
 * everything else of the request is passed over (OTLP receivers ignore what they do not know).
 *
 * Field numbers and JSON names follow the OTLP protocol definitions of opentelemetry-proto
 * (https://github.com/open-telemetry/opentelemetry-proto, `opentelemetry/proto/{common,resource,
 * logs,trace,collector}/v1`), OTLP 1.x; the JSON rules (hex ids, lowerCamelCase keys, 64-bit
 * integers as strings or numbers, enums as integers) are those of the OTLP specification,
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding.
 */

/** An attribute value (OTLP `AnyValue`): scalars, arrays, key-value lists (`Map`), bytes. */
export type OtlpValue =
  string | boolean | number | Uint8Array | null | OtlpValue[] | Map<string, OtlpValue>

/** Attributes by key (an OTLP list of `KeyValue`; a key given twice keeps its last value). */
export type Attributes = Map<string, OtlpValue>

export type Signal = 'log' | 'span'

export interface OtlpRecord {
  signal: Signal
  /** Its position in the request, for answers: `resource/scope/item`. */
  where: string
  resource: Attributes
  scope: { name: string; version: string }
  attributes: Attributes
  /** Nanoseconds since the epoch as a decimal string ('0' when absent). */
  timeUnixNano: string
  /** Log records: when the record was observed (a fallback for a record without a time). */
  observedTimeUnixNano: string
  /** Lower-case hex, '' when absent. */
  traceId: string
  spanId: string
  /** A span's name, or a log record's `event_name`. */
  name: string
  /** Span kind (1 internal, 2 server, 3 client, 4 producer, 5 consumer; 0 unspecified, logs). */
  kind: number
  /** Span status code (0 unset, 1 ok, 2 error); 0 for logs. */
  statusCode: number
  /** Why the record cannot be read (its values, or its resource's or scope's), when it cannot. */
  problems: string[]
}

/**
 * What one request may hold. Decoding stops reading a value past these (the rest of it is
 * skipped by its length, never walked), and the record holding it is refused by itself.
 */
export const OTLP_LIMITS = {
  /** Log records or spans in one request: the ingest route's own limit. */
  records: 10_000,
  /** Levels of `AnyValue` inside a value (an array in an array is two). */
  depth: 8,
  /** Values of one array or key-value list. */
  values: 1_024,
  /** Attributes of one resource, scope, record or span. */
  attributes: 256,
} as const

/** A request that cannot be decoded at all: answered 400, nothing of it kept. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError'
}

/**
 * A request refused whole, with its HTTP status: 400 not decodable, 413 too large, 415 a media type
 * or encoding not taken. The route answers it in the API's error model (src/api/errors.ts).
 */
export class OtlpRequestError extends Error {
  override readonly name = 'OtlpRequestError'
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message)
  }
}

/** A new record with the defaults of absent fields. */
export function emptyRecord(signal: Signal, where: string): OtlpRecord {
  return {
    signal,
    where,
    resource: new Map(),
    scope: { name: '', version: '' },
    attributes: new Map(),
    timeUnixNano: '0',
    observedTimeUnixNano: '0',
    traceId: '',
    spanId: '',
    name: '',
    kind: 0,
    statusCode: 0,
    problems: [],
  }
}

/** Records found in a request, and how many there were (records past the limit are counted only). */
export interface Decoded {
  records: OtlpRecord[]
  count: number
}
