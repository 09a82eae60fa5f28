#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { CliError } from './output.js';

const program = new Command('hearth')
  .description("hearth: the family's own cloud in one executable")
  .showHelpAfterError(false)
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0 through here; real usage errors already printed one line.
    process.exit(err.exitCode);
  }
  const message = err instanceof CliError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`hearth: ${message.split('\n')[0]}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
}
