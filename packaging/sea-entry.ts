/**
 * Entry point of the single executable (bundled by scripts/build-binary.mjs).
 *
 * A small first module: it puts the native-addon cache hook in place and turns on
 * V8's compile cache before the main bundle (hearth-main.mjs, the whole CLI) is
 * parsed, so a warm start reuses compiled code instead of compiling ~2.5 MB of
 * JavaScript again. The compile cache sits next to the extracted addons, only in a
 * directory that belongs to hearth (never in a home or temp dir): with no such
 * directory, hearth simply compiles as usual.
 */
import module from 'node:module';
import path from 'node:path';
import { chooseNativeCacheDir, installNativeCache } from './native-cache.js';

installNativeCache();

if (!process.env.NODE_COMPILE_CACHE && process.env.HEARTH_COMPILE_CACHE !== '0') {
  const dir = chooseNativeCacheDir();
  const ours = process.env.HEARTH_CACHE_DIR || dir === '/var/cache/hearth' || path.basename(dir) === 'cache';
  if (ours) {
    try {
      // Node >= 22.1; the project's @types/node is 20.
      (module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(path.join(dir, 'compile'));
    } catch {
      // an unwritable cache only costs start-up time
    }
  }
}

// @ts-expect-error: produced next to this file by the build (esbuild output of cli/main.ts)
await import('./hearth-main.mjs');
