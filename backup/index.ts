export { createBackup, removeIncomplete, backupName, type BackupOptions, type BackupProgress, type BackupResult, type BackupTimings, type DbCopyMethod } from './create.js';
export { restoreBackup, RestoreError, type RestoreOptions, type RestoreResult } from './restore.js';
export { listBackups, applyRetention, backupStatus, backupHealth, type BackupInfo, type BackupStatus, type BackupHealth, type Retention } from './catalog.js';
