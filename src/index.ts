/**
 * `audtrail`: the contract, configuration and storage for programs that embed the pipeline. It
 * loads the storage drivers (chdb, @clickhouse/client), optional peer dependencies to install
 * next to audtrail (docs/install.md); collectors import `audtrail/collectors/*`,
 * `audtrail/emitter` and `audtrail/events`, which load neither.
 */
export * from './events/index.js'
export { loadConfig, CONFIG_VARIABLES, type Config } from './config.js'
export {
  AudtrailError,
  ConfigError,
  EventValidationError,
  MigrationError,
  StorageError,
  isAudtrailError,
  type AudtrailErrorCode,
} from './errors.js'
export { createStorage, type Storage, type StorageOptions } from './storage/client.js'
export { migrate, type MigrateResult } from './storage/migrate.js'
