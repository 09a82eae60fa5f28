export { exportFamily, exportFamilyToFile, ExportError, type ExportOptions, type ExportProgress, type ExportSummary } from './export.js';
export { importFamily, ImportError, type ImportOptions, type ImportResult } from './import.js';
export { serverDocSource, storedDocSource, type DocSource } from './docs-source.js';
export { renderDocJson, type DocJson } from './doc-json.js';
export { PORTABLE_TABLES, registerPortableTable, type PortableTable } from './tables.js';
export { CONTENT_TYPE, fileNameFor } from './format.js';
export { eraseMember, eraseFamily, registerErasureHook, ErasureError, type ErasureDeps, type ErasureHook, type ErasureReport, type ErasureScope } from './erase.js';
import './vault-tables.js';
import './vault-attachments.js';
