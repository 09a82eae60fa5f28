import type { Command } from 'commander';
import type { VaultStatus } from '../../vault/status.js';
import { runLive } from '../admin-client.js';
import { addDataOption } from '../context.js';
import { printJson, printLine, printTable } from '../output.js';

const when = (t: number | null) => (t === null ? '' : new Date(t).toISOString());

export function registerVault(program: Command): void {
  const vault = program.command('vault').description('the end-to-end encrypted vault: what is sealed for whom and when it opens (never content)');
  addDataOption(vault.command('status').description('entries, owners, recipients, policies and the next release'))
    .option('--family <id>', 'only this family')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family?: string; json?: boolean }) => {
      const { result } = await runLive(opts, 'vault.status', opts.family ? { familyId: opts.family } : {}, { readOnly: true });
      const st = result as VaultStatus;
      if (opts.json) return printJson(st);
      printTable(
        st.entries.map((e) => ({
          id: e.id,
          family: e.familyId,
          owner: e.owner,
          recipients: e.recipients.join(','),
          status: e.status,
          bytes: e.bytes,
          policies: e.policies.join('; '),
          nextRelease: when(e.nextReleaseAt),
          released: e.releasedAt ? `${when(e.releasedAt)} (${e.releaseReason})` : '',
        })),
        ['id', 'family', 'owner', 'recipients', 'status', 'bytes', 'policies', 'nextRelease', 'released'],
      );
      printLine(`${st.entries.length} entries, ${st.keys} member keys; next release: ${st.nextReleaseAt ? when(st.nextReleaseAt) : 'none scheduled'}`);
    });
}
