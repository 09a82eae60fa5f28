import crypto from 'node:crypto';

/** The archive's first entry: what it is, whose it is. See docs/portability.md. */
export interface ExportHeader {
  format: 'hearth-family-export';
  version: 1;
  createdAt: string;
  hearthVersion: string;
  familyId: string;
  familyName: string;
  tables: string[];
  /** Documents left out because the member who asked may not read them (HTTP export); 0 from the CLI. */
  omittedDocuments: number;
  /**
   * Whose vault: 'family' (the operator's CLI: every vault row and file) or 'member'
   * (an owner's HTTP export: what that owner may see, docs/portability.md). Missing in
   * archives from before the vault travelled.
   */
  vaultScope?: 'family' | 'member';
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

/** The archive's last entry: every earlier entry's size and SHA-256 (the header's too). */
export interface ExportManifest {
  files: ManifestFile[];
  counts: { rows: Record<string, number>; documents: number; mediaFiles: number; mediaBytes: number; vaultFiles?: number; vaultBytes?: number };
}

export const HEADER_ENTRY = 'hearth-export.json';
export const MANIFEST_ENTRY = 'manifest.json';
export const ROWS_PER_CHUNK = 1000;

export const rowsEntry = (table: string, chunk: number) => `rows/${table}/${String(chunk).padStart(4, '0')}.jsonl`;
export const docUpdateEntry = (docName: string) => `docs/${docName}.yjs`;
export const docJsonEntry = (docName: string) => `docs/${docName}.json`;
export const mediaEntry = (fileName: string) => `media/${fileName}`;
/** A file of vault/<familyId>/, by its path relative to that folder. */
export const vaultEntry = (rel: string) => `vault/${rel}`;

export const sha256 = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');

export const CONTENT_TYPE = 'application/x-tar';
export const fileNameFor = (familyId: string, at: number) =>
  `hearth-${familyId}-${new Date(at).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z.tar`;
