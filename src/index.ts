/** `audtrail`: the contract, configuration and storage for programs that embed the pipeline. */
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
