import type { Command } from 'commander';
import { registerVersion } from './version.js';

/** Every subcommand registers itself here; one module per command group. */
export function registerCommands(program: Command): void {
  registerVersion(program);
}
