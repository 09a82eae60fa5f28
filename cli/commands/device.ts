import type { Command } from 'commander';
import qrcode from 'qrcode-terminal';
import { getMember } from '../../server/identity/members.js';
import { listDevices } from '../../server/identity/devices.js';
import { familyOfDevice, familyOfMember } from '../../server/identity/lookup.js';
import { getFamily } from '../../server/identity/families.js';
import { createDeviceSession } from '../../server/identity/sessions.js';
import { createPairingToken } from '../../server/identity/pairing.js';
import { CLI_ACTOR } from '../../server/identity/context.js';
import { addDataOption, withContext } from '../context.js';
import { runLive } from '../admin-client.js';
import { CliError, printJson, printLine, printTable } from '../output.js';
import { lanUrl } from '../lan-url.js';

export function registerDevice(program: Command): void {
  const device = program.command('device').description('paired devices');

  addDataOption(device.command('add').description('create a headless device (scripts, home automation) and print its tokens'))
    .requiredOption('--member <id>', 'member the device belongs to')
    .requiredOption('--name <name>', 'device name')
    .option('--family <id>', 'family id (checked against the member)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; member: string; name: string; family?: string; json?: boolean }) =>
      withContext(opts, async ({ identity }) => {
        const familyId = familyOfMember(identity, opts.member);
        if (opts.family && opts.family !== familyId) throw new CliError(`member ${opts.member} is not in family ${opts.family}`);
        const member = getMember(identity, familyId, opts.member);
        const tokens = await createDeviceSession(identity, member, opts.name, 'headless', { ...CLI_ACTOR, familyId });
        const out = { deviceId: tokens.deviceId, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresIn: tokens.expiresIn };
        if (opts.json) printJson(out);
        else {
          printLine(`device ${out.deviceId} created for ${member.username ?? member.displayName}`);
          printLine(`refresh token (store it now, it is not shown again): ${out.refreshToken}`);
        }
      }),
    );

  addDataOption(device.command('list').description('list devices of a family'))
    .requiredOption('--family <id>', 'family id')
    .option('--member <id>', 'only this member’s devices')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; family: string; member?: string; json?: boolean }) =>
      withContext(opts, ({ identity }) => {
        getFamily(identity, opts.family); // a mistyped id is an error, not an empty list
        const rows = listDevices(identity, opts.family, opts.member);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((d) => ({ ...d, status: d.revokedAt ? 'revoked' : 'active', lastSeen: d.lastSeenAt ? new Date(d.lastSeenAt).toISOString() : '' })),
          ['id', 'name', 'memberId', 'kind', 'status', 'lastSeen'],
        );
      }, { readOnly: true }),
    );

  addDataOption(device.command('approve').description('approve (or --deny) the code a new device shows'))
    .argument('<userCode>', 'the code on the new device, e.g. WDJB-MJHT')
    .requiredOption('--member <id>', 'member the device will belong to')
    .option('--deny', 'refuse the device instead')
    .option('--json', 'machine-readable output')
    .action(async (userCode: string, opts: { data?: string; member: string; deny?: boolean; json?: boolean }) => {
      const familyId = await withContext(opts, ({ identity }) => familyOfMember(identity, opts.member));
      const { result } = await runLive(opts, 'pair.approve', { familyId, memberId: opts.member, userCode, approve: !opts.deny });
      const r = result as { deviceName: string; status: string };
      if (opts.json) printJson(r);
      else printLine(`${r.status} device "${r.deviceName}"`);
    });

  addDataOption(device.command('pair').description('print a one-time QR code a phone scans to pair to a member'))
    .requiredOption('--member <id>', 'member the device will belong to')
    .option('--url <url>', 'server URL the phone should use (default: $HEARTH_PUBLIC_URL or this machine’s LAN address)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { data?: string; member: string; url?: string; json?: boolean }) =>
      withContext(opts, ({ identity, config }) => {
        const familyId = familyOfMember(identity, opts.member);
        const { token, expiresAt } = createPairingToken(identity, familyId, opts.member, CLI_ACTOR);
        const server = opts.url ?? config.publicUrl ?? lanUrl(config.port);
        const link = `hearth://pair?server=${encodeURIComponent(server)}&token=${token}`;
        if (opts.json) return printJson({ server, token, link, expiresAt });
        qrcode.generate(link, { small: true }, (qr) => process.stdout.write(`${qr}\n`));
        printLine(`scan within 15 minutes; or enter server ${server} and token ${token}`);
      }),
    );

  addDataOption(device.command('revoke').description('revoke a device; its live connections close at once'))
    .argument('<deviceId>', 'device id')
    .option('--json', 'machine-readable output')
    .action(async (deviceId: string, opts: { data?: string; json?: boolean }) => {
      const familyId = await withContext(opts, ({ identity }) => familyOfDevice(identity, deviceId));
      const { result, live } = await runLive(opts, 'device.revoke', { familyId, deviceId });
      if (opts.json) printJson(result);
      else printLine(`revoked ${deviceId}${live ? ' (applied to the running server)' : ''}`);
    });
}
