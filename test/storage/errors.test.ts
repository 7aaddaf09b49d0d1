import { describe, expect, it } from 'vitest'
import { mapStorageError } from '../../src/storage/errors.js'

describe('mapStorageError', () => {
  it('tells an outage by its connection error code or transport message', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
      new Error('socket hang up'),
      new Error('Timeout error.'),
    ]) {
      const mapped = mapStorageError(err, 'insert into events')
      expect(mapped.code).toBe('ERR_SINK_UNAVAILABLE')
      expect(mapped.retriable).toBe(true)
    }
  })

  it('reports a refused insert whose message names the network_ip column as a query error', () => {
    const err = Object.assign(
      new Error(
        'Code: 25. DB::Exception: Cannot parse escape sequence ... Column 22, name: network_ip, type: String',
      ),
      { code: '25', type: 'CANNOT_PARSE_ESCAPE_SEQUENCE' },
    )
    const mapped = mapStorageError(err, 'insert into events')
    expect(mapped.code).toBe('ERR_STORAGE_QUERY')
    expect(mapped.message).toBe(
      'insert into events: ClickHouse error 25 (CANNOT_PARSE_ESCAPE_SEQUENCE)',
    )
    expect(mapped.retriable).toBe(false)
  })
})
