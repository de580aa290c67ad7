// The SQLite store: open with refusals and migrations, then the graph repository.
export {
  openDatabase,
  defaultMigrationsDir,
  loadMigrations,
  StoreError,
  type OpenDatabaseOptions,
} from './open-store.js';
export { GraphStore, GraphWriter, type BatchInfo, type FlushResult } from './graph-store.js';
export {
  checksumOf,
  parseMigrations,
  planMigrations,
  type Migration,
  type AppliedMigration,
  type MigrationRefusal,
} from './migrations.js';
