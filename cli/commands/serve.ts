import type { Command } from 'commander';
import { SETTINGS } from '../../server/config.js';
import { startServer } from '../../server/runtime.js';
import { SYNC_LIMIT_TABLE } from '../../sync/index.js';
import { addDataOption, cliConfig } from '../context.js';
import { printLine } from '../output.js';

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run the server (HTTP API, sync, jobs) in the foreground')
    .addHelpText(
      'after',
      `
Runs, in this one process: the HTTP API under /v1 and the web app at /, the WebSocket
sync endpoint at /sync/<familyId>/<docName>, the job scheduler (reminders, digests,
backups, vault release, cleanup), and the local admin socket (<data>/admin.sock) that
\`hearth device revoke\`, \`hearth member role\` and similar commands use to act on live
connections. Stops cleanly on SIGINT/SIGTERM, flushing documents first.

Settings: flag > environment variable > config file (--config / $HEARTH_CONFIG) > default.
Without the admin socket ($HEARTH_ADMIN_SOCKET=false) commands that change live state
refuse to run while this server is up.`,
    );
  addDataOption(cmd)
    .option('--host <host>', SETTINGS.host.doc)
    .option('--port <port>', SETTINGS.port.doc)
    .option('--public-url <url>', SETTINGS.publicUrl.doc)
    .option('--log-level <level>', SETTINGS.logLevel.doc)
    .option('--synchronous <mode>', SETTINGS.synchronous.doc)
    .option('--config <file>', 'JSON config file (also $HEARTH_CONFIG)');
  const MEDIA_KEYS = ['mediaMaxFileBytes', 'familyQuotaBytes', 'mediaUploadsPerDevice', 'mediaDeriveConcurrency', 'mediaMaxPixels', 'mediaGcGraceHours'] as const;
  for (const key of MEDIA_KEYS) cmd.option(`--${SETTINGS[key].flag} <n>`, `${SETTINGS[key].doc} ($${SETTINGS[key].env})`);
  // The metrics token stays out of argv (ps shows it): $HEARTH_METRICS_TOKEN or the config file.
  const MORE_KEYS = ['searchIndexing', 'vaultMaxEntryBytes', 'vaultMaxAttachmentBytes', 'vaultMaxEntriesPerMember', 'metricsListen', 'metricsDbRefreshS'] as const;
  for (const key of MORE_KEYS) cmd.option(`--${SETTINGS[key].flag} <value>`, `${SETTINGS[key].doc} ($${SETTINGS[key].env})`);
  for (const spec of SYNC_LIMIT_TABLE) cmd.option(`${spec.flag} <n>`, `${spec.description} (default ${spec.default}, $${spec.env})`);
  cmd.action(async (opts: Record<string, string | undefined>) => {
      const syncFlags = Object.fromEntries(SYNC_LIMIT_TABLE.map((spec) => [spec.key, opts[flagToOptionKey(spec.flag)]]));
      const config = cliConfig({
        data: opts.data,
        config: opts.config,
        host: opts.host,
        port: opts.port,
        publicUrl: opts.publicUrl,
        logLevel: opts.logLevel,
        synchronous: opts.synchronous,
        ...syncFlags,
        ...Object.fromEntries([...MEDIA_KEYS, ...MORE_KEYS].map((key) => [key, opts[key]])),
      });
      const server = await startServer(config);
      printLine(`hearth listening on ${server.url}`);
      // Printed, never logged: the link is a one-time secret for whoever runs the server.
      if (server.setupUrl) {
        printLine(`setup: ${server.setupUrl}`);
        printLine('  open it in a browser within 30 minutes to create the family and its owner (works once)');
      }
      const stop = (signal: string) => {
        server.logger.info({ signal }, 'signal received');
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            server.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}

/** commander's camelCase key for a flag: --sync-max-frame-bytes → syncMaxFrameBytes. */
function flagToOptionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
