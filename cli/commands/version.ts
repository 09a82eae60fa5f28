import type { Command } from 'commander';
import { printJson, printLine } from '../output.js';
import { versionInfo } from '../../server/version-info.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version and the source commit')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const info = versionInfo();
      if (opts.json) printJson(info);
      else printLine(`hearth ${info.version} (${info.commit}) node ${info.node}`);
    });
}
