#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { CliError } from './output.js';
import { versionInfo } from '../server/version-info.js';

// `hearth member list | head`: the reader going away is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// better-sqlite3 13's N-API addon needs Node >= 22 and crashes the process on older
// ones; say so plainly instead. From a checkout, `npm run hearth` uses the bundled Node 24.
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) {
  process.stderr.write(`hearth: needs Node >= 22 (this is ${process.version}); use \`npm run hearth -- ...\` or scripts/node.sh\n`);
  process.exit(1);
}

const program = new Command('hearth')
  .description("hearth: the family's own cloud in one executable")
  .version(versionInfo().version, '-V, --version', 'print the version')
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
