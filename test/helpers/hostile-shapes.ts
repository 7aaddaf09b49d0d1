/**
 * Items no event can be, one of each shape (deep nesting, huge strings, scalars, prototype keys,
 * elements that are not JSON or not UTF-8): each must be refused on its own, on every path. They
 * are JSON texts (or bytes), so that each is sent exactly as written, in an array, a line or a
 * Kafka message.
 */
import { presentedEvent } from './events.js'
import { HOSTILE_JWT } from './hostile.js'

export const DEEP = 20_000
const deepArray = (leaf = '') => `${'['.repeat(DEEP)}${leaf}${']'.repeat(DEEP)}`
const deepObject = (leaf = '1') => `${'{"a":'.repeat(DEEP)}${leaf}${'}'.repeat(DEEP)}`
/** A valid event with `extra` spliced in as raw JSON text. */
const eventWith = (extra: string) =>
  JSON.stringify(presentedEvent()).replace(/}$/, `,"extra":${extra}}`)

export const HOSTILE: { name: string; text: string | Buffer }[] = [
  { name: 'arrays 20 000 deep', text: deepArray() },
  { name: 'objects 20 000 deep', text: deepObject() },
  {
    name: 'arrays and objects 20 000 deep',
    text: `${'[{"a":'.repeat(DEEP / 2)}null${'}]'.repeat(DEEP / 2)}`,
  },
  { name: 'arrays 20 000 deep around a raw JWT', text: deepArray(JSON.stringify(HOSTILE_JWT)) },
  {
    name: 'objects 20 000 deep around a raw JWT key',
    text: deepObject(`{${JSON.stringify(HOSTILE_JWT)}:1}`),
  },
  { name: 'an event with arrays 20 000 deep', text: eventWith(deepArray()) },
  {
    name: 'an event with a raw JWT 20 000 deep',
    text: eventWith(deepArray(JSON.stringify(HOSTILE_JWT))),
  },
  { name: 'a 2 MB string', text: JSON.stringify('A'.repeat(2_000_000)) },
  {
    name: 'an event with a 1.5 MB client_id',
    text: JSON.stringify(presentedEvent({ client_id: 'c'.repeat(1_500_000) })),
  },
  { name: 'zero', text: '0' },
  { name: 'a large negative number', text: '-1.5e308' },
  { name: 'a number past a double', text: '1e400' },
  { name: 'a 40-digit integer', text: '1234567890123456789012345678901234567890' },
  { name: 'null', text: 'null' },
  { name: 'true', text: 'true' },
  { name: 'false', text: 'false' },
  { name: 'a string', text: '"event"' },
  { name: 'an empty object', text: '{}' },
  { name: 'an empty array', text: '[]' },
  { name: 'an array of events', text: JSON.stringify([presentedEvent(), presentedEvent()]) },
  { name: 'nested arrays inside an object', text: '{"a":[[1,[2,[3,[]]]]],"b":{"c":[[{}]]}}' },
  { name: 'toJSON-like keys', text: '{"toJSON":"x","valueOf":{"toString":null},"then":1}' },
  { name: 'a __proto__ key', text: '{"__proto__":{"polluted":true}}' },
  { name: 'an event with a __proto__ key', text: eventWith('{"__proto__":{"polluted":true}}') },
  {
    name: 'an event with a constructor.prototype',
    text: eventWith('{"constructor":{"prototype":{"polluted":true}}}'),
  },
  { name: 'an element that is not JSON', text: '{"a":}' },
  { name: 'a bare word', text: 'nul' },
  { name: 'an array with a trailing comma', text: '[1,]' },
  {
    name: 'an event with a byte that is not UTF-8',
    text: Buffer.concat([Buffer.from('{"client_id":"a'), Buffer.from([0xff]), Buffer.from('"}')]),
  },
]
