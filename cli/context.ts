import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { openIdentity } from '../server/runtime.js';
import type { IdentityContext } from '../server/identity/context.js';
import type { Storage } from '../storage/database.js';
import { dataDirExists, type DataDirLayout } from '../storage/data-dir.js';
import { CliError } from './output.js';

export const INSTALLED_DATA_DIR = '/var/lib/hearth';

/** Running as the single executable (Node SEA)? Then we are installed, not in a checkout. */
function isSingleExecutable(): boolean {
  try {
    const require = createRequire(import.meta.url);
    return (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

/** `--data`, else HEARTH_DATA, else /var/lib/hearth for an installed binary, else ./hearth-data. */
export function defaultDataDir(): string | undefined {
  if (process.env.HEARTH_DATA) return undefined; // loadConfig reads it
  if (isSingleExecutable() && fs.existsSync(INSTALLED_DATA_DIR)) return INSTALLED_DATA_DIR;
  return undefined;
}

export function addDataOption(cmd: Command): Command {
  return cmd.option('--data <dir>', 'data dir (default: $HEARTH_DATA, /var/lib/hearth when installed, else ./hearth-data)');
}

export function cliConfig(flags: Record<string, unknown>): Config {
  try {
    return loadConfig({
      flags: { ...flags, dataDir: (flags.data as string | undefined) ?? defaultDataDir() },
      file: flags.config as string | undefined,
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

export interface CliContext {
  config: Config;
  layout: DataDirLayout;
  storage: Storage;
  identity: IdentityContext;
}

/**
 * Opens the data dir for one command and always closes the database afterwards.
 * `readOnly` commands (lists) refuse a data dir that does not exist instead of creating
 * one: a typo in --data is an error, not a second, empty server.
 */
export async function withContext<T>(
  flags: Record<string, unknown>,
  fn: (ctx: CliContext) => Promise<T> | T,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
  const config = cliConfig(flags);
  if (opts.readOnly && !dataDirExists(config.dataDir)) {
    throw new CliError(`no hearth data dir at ${config.dataDir} (check --data or HEARTH_DATA, or run \`hearth init\`)`);
  }
  const { layout, storage, identity } = await openIdentity(config);
  try {
    return await fn({ config, layout, storage, identity });
  } finally {
    storage.close();
  }
}
