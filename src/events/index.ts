/** `audtrail/events`: the contract (zod schemas and types), resource identifiers, fingerprints. */
export * from './schema.js'
export { parseEvent, assertEvent, type ParseResult } from './parse.js'
export { fingerprintToken } from './fingerprint.js'
export { tokenKey, type TokenKeyKind } from './token-key.js'
export { auditEventJsonSchema, JSON_SCHEMA_ID } from './json-schema.js'
export {
  canonicalizeResource,
  compareResources,
  createAliasLookup,
  MAX_RESOURCE_LENGTH,
  RESOURCE_INVALID_REASONS,
  RESOURCE_WARNINGS,
  type AliasLookup,
  type CanonicalResource,
  type ResourceComparison,
  type ResourceInvalidReason,
  type ResourceWarning,
} from './resource.js'
