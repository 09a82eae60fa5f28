import { createRequire } from 'node:module';

declare const __HEARTH_COMMIT__: string | undefined;

/** The version comes from package.json; the commit is stamped in at build time when known. */
export function versionInfo(): { version: string; commit: string; node: string } {
  const require = createRequire(import.meta.url);
  let version = '0.0.0';
  try {
    version = (require('../../package.json') as { version: string }).version;
  } catch {
    // Inside the single executable package.json is not next to us; the build stamps it.
  }
  const commit = typeof __HEARTH_COMMIT__ === 'string' ? __HEARTH_COMMIT__ : (process.env.HEARTH_COMMIT ?? 'unknown');
  return { version, commit, node: process.version };
}
