import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { openStorage, type Storage } from '../storage/database.js';
import { ensureDataDir, isWritableDir, removePidFile, secureDatabaseFiles, writePidFile, type DataDirLayout } from '../storage/data-dir.js';
import { pendingMigrations } from '../storage/migrate.js';
import { startWalCheckpointer } from '../storage/wal-checkpointer.js';
import type { Config } from './config.js';
import { buildApp, requestId } from './app.js';
import { createLogger } from './logger.js';
import { loadOrCreateSigningKeys } from './identity/signing-keys.js';
import { NO_EVENTS, type IdentityContext, type IdentityEvents } from './identity/context.js';
import { startAdminSocket } from './admin-socket.js';
import { closeHttp } from './http-shutdown.js';
import { recordAudit, SCHEDULER_ACTOR } from '../storage/audit.js';
import type { AdminContext } from './admin-ops.js';
import { versionInfo } from './version-info.js';
import { attachSync, type SyncAttachment } from './sync-attachment.js';
import { useMemoryRelief } from './memory-relief.js';
import { warmUp } from './warm-up.js';
import { createMediaService, type MediaService } from '../media/service.js';
import { familyMediaRoutes } from './routes/family-media.js';
import { registerMediaJobs } from '../media/jobs.js';
import { SetupGate } from './identity/setup.js';
import { loadWebAssets } from './web-assets.js';
import type { Clock } from '../jobs/types.js';
import { systemClock } from '../jobs/clock.js';
import { createScheduler, type PersistentScheduler } from '../jobs/scheduler.js';
import { createNotifications, type Notifications } from '../notifications/index.js';
import type { InboxNotifier } from '../notifications/inbox.js';
import { families, members } from '../storage/schema.js';
import { eq } from 'drizzle-orm';
import { registerBackupJobs } from '../backup/jobs.js';
import { backupHealth } from '../backup/index.js';
import { jobRoutes } from './routes/jobs.js';
import { notificationRoutes } from './routes/notifications.js';
import { familyExportRoutes } from './routes/family-export.js';
import { backupStatusRoutes } from './routes/backup-status.js';
import { createSearchService, type SearchService } from '../search/service.js';
import { familySearchRoutes } from './routes/family-search.js';
import { and } from 'drizzle-orm';
import { createVaultService, vaultFamilyBytes, type VaultService } from '../vault/service.js';
import { registerVaultJobs } from '../vault/release.js';
import { familyVaultRoutes } from './routes/family-vault.js';
import { familyAuditRoutes } from './routes/family-audit.js';
import { createDbGauges, createMetrics, type HearthMetrics } from '../metrics/index.js';
import { startMetricsListener } from './metrics-listener.js';

export interface RunningServer {
  url: string;
  port: number;
  app: FastifyInstance;
  storage: Storage;
  identity: IdentityContext;
  layout: DataDirLayout;
  logger: Logger;
  sync: SyncAttachment;
  media: MediaService;
  /** The one-time first-run link (`<url>/setup#<token>`) when the server has no family yet. */
  setupUrl: string | null;
  clock: Clock;
  scheduler: PersistentScheduler;
  notifier: InboxNotifier;
  /** Reminders, push channels, the digest (add DigestSources here), housekeeping. */
  notifications: Notifications;
  /** What admin-socket ops run against (tests call runAdminOp with it). */
  adminContext: AdminContext;
  search: SearchService;
  vault: VaultService;
  /** null when metrics are not served (no HEARTH_METRICS_TOKEN and no HEARTH_METRICS_LISTEN). */
  metrics: HearthMetrics | null;
  /** Where Prometheus scrapes when HEARTH_METRICS_LISTEN is set (else null: the family port, with the token). */
  metricsUrl: string | null;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Wall time for jobs and notifications; tests pass createManualClock(). */
  clock?: Clock;
}

/** Opens the data dir, database and keys the same way for `serve`, `init` and CLI commands. */
export async function openIdentity(config: Config): Promise<{ layout: DataDirLayout; storage: Storage; identity: IdentityContext }> {
  const layout = ensureDataDir(config.dataDir);
  secureDatabaseFiles(layout);
  const storage = openStorage(layout.database, { synchronous: config.synchronous });
  secureDatabaseFiles(layout);
  try {
    const keys = await loadOrCreateSigningKeys(layout.keys);
    const identity: IdentityContext = {
      storage,
      keys,
      accessTokenTtlS: config.accessTokenTtlS,
      refreshTokenTtlDays: config.refreshTokenTtlDays,
      events: NO_EVENTS,
    };
    return { layout, storage, identity };
  } catch (err) {
    storage.close();
    throw err;
  }
}

/** Composition root: every long-lived part of a running hearth is created and wired here. */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const { layout, storage, identity } = await openIdentity(config);
  const relief = useMemoryRelief(logger);
  const checkpointer = startWalCheckpointer(storage.sqlite);
  const events: IdentityEvents = { ...NO_EVENTS };
  identity.events = events;

  const ready = () => {
    const problems: string[] = [];
    if (!storage.sqlite.open) problems.push('database closed');
    else if (pendingMigrations(storage.sqlite).length) problems.push('migrations pending');
    if (!isWritableDir(layout.root)) problems.push('data dir not writable');
    return problems;
  };

  const familyRouteModules: FastifyPluginAsync[] = [];
  // Before sync: the engine takes the registry's hot-path counters; gauges read sync lazily on scrape.
  // Only when something can scrape them (a token, or a metrics listener): otherwise nobody could
  // read the counters, so the hot path gets the do-nothing observer and no registry is kept.
  const metricsServed = Boolean(config.metricsToken || config.metricsListen);
  const dbGauges = createDbGauges(storage.sqlite, { maxAgeMs: config.metricsDbRefreshS * 1000 });
  const metrics = metricsServed ? createMetrics({
    syncStats: () => sync.service.stats(),
    // Walked in chunks, yielding between them: a big media table must not hold up broadcasts.
    jobs: () => dbGauges.jobs(),
    media: () => dbGauges.media(),
    backup: () => {
      const h = backupHealth(layout.backups, Date.now());
      return { ageSeconds: h.lastVerified?.ageS ?? null, lastOk: h.lastAttempt ? h.lastAttempt.result === 'verified' : null };
    },
  }) : null;
  const sync = attachSync({ storage, logger, identity, config, familyRouteModules, observer: metrics?.sync });
  Object.assign(events, sync.identityEvents);
  const clock = opts.clock ?? systemClock;
  const media = createMediaService({
    now: () => clock.now(),
    storage,
    layout,
    logger,
    limits: {
      maxFileBytes: config.mediaMaxFileBytes,
      familyQuotaBytes: config.familyQuotaBytes,
      maxUploadsPerDevice: config.mediaUploadsPerDevice,
      deriveConcurrency: config.mediaDeriveConcurrency,
      maxPixels: config.mediaMaxPixels,
      deriveTimeoutS: 60,
      gcGraceMs: config.mediaGcGraceHours * 3_600_000,
    },
    // One quota for the family: its documents' stored bytes count against it too.
    otherFamilyBytes: (familyId) =>
      sync.service.docs.list(familyId).reduce((n, d) => n + d.bytes, 0) +
      vaultFamilyBytes(storage.sqlite, familyId),
  });
  familyRouteModules.push(familyMediaRoutes(media));
  media.start();

  // Search indexes after commits, debounced, one document per event-loop turn (never in a broadcast's way).
  const search = createSearchService({
    sqlite: storage.sqlite,
    docs: sync.service.docs,
    debounceMs: 250,
    indexing: config.searchIndexing,
    warn: (what, err, ctx) => logger.warn({ ...ctx, err: (err as Error).message }, what),
  });
  familyRouteModules.push(familySearchRoutes({ search, sync: sync.service }));

  // Jobs: every capability registers its handlers and recurring jobs here, before
  // scheduler.start() below, e.g. `registerMediaJobs(scheduler, { ... })`; digest
  // sections with `notifications.digest.add(source)`; notify through `notifier`.
  const scheduler = createScheduler({ sqlite: storage.sqlite, clock, logger: logger.child({ component: 'jobs' }) });
  const notifications = createNotifications({
    scheduler,
    docs: sync.service.docs,
    db: storage.db,
    channelKeyFile: layout.channelKey,
    warn: (what, err, ctx) => logger.warn({ ...ctx, err: (err as Error).message }, what),
  });
  const notifier = notifications.notifier;
  familyRouteModules.push(
    familyAuditRoutes({ db: storage.db }),
    jobRoutes({ scheduler, db: storage.db }),
    notificationRoutes({ db: storage.db, clock, channels: notifications.channels, push: notifications.push, digest: notifications.digest }),
  );
  familyRouteModules.push(
    familyExportRoutes({ layout, docs: sync.service.docs, db: storage.db, clock, hearthVersion: versionInfo().version, log: logger }),
    backupStatusRoutes({
      backupsDir: layout.backups,
      clock,
      nightly: () => {
        const row = storage.sqlite.prepare("SELECT status, last_run_at, last_error FROM jobs WHERE key = 'backup.nightly'").get() as
          | { status: string; last_run_at: number | null; last_error: string | null }
          | undefined;
        return row ? { status: row.status, lastRunAt: row.last_run_at, lastError: row.last_error } : null;
      },
    }),
  );
  registerMediaJobs(scheduler, media);

  const vault = createVaultService({
    sqlite: storage.sqlite,
    db: storage.db,
    layout,
    clock,
    limits: { maxEntryBytes: config.vaultMaxEntryBytes, maxAttachmentBytes: config.vaultMaxAttachmentBytes, maxEntriesPerOwner: config.vaultMaxEntriesPerMember, familyQuotaBytes: config.familyQuotaBytes },
    familyBytes: (familyId) => media.usage(familyId).total,
    isMember: (familyId, memberId) =>
      storage.db.select({ id: members.id }).from(members).where(and(eq(members.familyId, familyId), eq(members.id, memberId))).get() !== undefined,
  });
  familyRouteModules.push(familyVaultRoutes({ vault, maxEntryBytes: config.vaultMaxEntryBytes }));
  registerVaultJobs({ sqlite: storage.sqlite, db: storage.db, clock, scheduler, notifier });
  // A removed member's sealed keys as a recipient go (docs/vault.md); sync's handler still runs.
  const syncMemberRemoved = events.memberRemoved;
  events.memberRemoved = (memberId) => {
    syncMemberRemoved(memberId);
    vault.memberRemoved(memberId);
  };
  registerBackupJobs(scheduler, {
    sqlite: storage.sqlite,
    layout,
    clock,
    hearthVersion: versionInfo().version,
    retention: { daily: 7, weekly: 4 },
    // Every owner of every family hears of it: the backup is the whole server's.
    onSuccess: (r) =>
      recordAudit(storage.db, 'backup.create', SCHEDULER_ACTOR, { details: { name: r.name, files: r.files, bytes: r.bytes, copied: r.copied, linked: r.linked } }),
    onFailure: async (err) => {
      recordAudit(storage.db, 'backup.failed', SCHEDULER_ACTOR, { details: { error: err.message.slice(0, 200) } });
      const owners = storage.db.select({ id: members.id, familyId: members.familyId }).from(members).where(eq(members.role, 'owner')).all();
      const id = `backup-failed-${new Date(clock.now()).toISOString().slice(0, 10)}`;
      for (const o of owners) {
        await notifier.notify(o.familyId, o.id, { id, kind: 'backup.failed', title: 'Nightly backup failed', body: err.message.slice(0, 200) });
      }
    },
  });

  const setup = new SetupGate(identity);
  const app = await buildApp({ config, identity, logger, ready, familyRouteModules, setup, webAssets: loadWebAssets(), metrics: metrics ?? undefined });
  // Only /sync upgrades are upgrades; anything else (`Upgrade: h2c` to /health...) is served as plain HTTP.
  // (Node ≥ 24.9 option, not in @types/node yet.)
  (app.server as unknown as { shouldUpgradeCallback: (req: IncomingMessage) => boolean }).shouldUpgradeCallback = (req) =>
    /^\/sync(\/|\?|$)/.test(req.url ?? '');

  // The upgrade gets a request id as any HTTP request does: its sync connection's log lines carry it.
  app.server.on('upgrade', (req, socket, head) => sync.handleUpgrade(req, socket, head, requestId(req)));
  await app.listen({ host: config.host, port: config.port });
  const port = (app.server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  const setupToken = setup.open();
  const setupUrl = setupToken ? `${(config.publicUrl ?? url).replace(/\/$/, '')}/setup#${setupToken}` : null;

  const adminContext: AdminContext = {
    identity,
    scheduler,
    search,
    // ServerDocs.remove: an erased document's sockets close and its loaded copy goes.
    erasure: { storage, layout, removeDoc: (familyId, docName) => void sync.service.docs.remove(familyId, docName) },
  };
  const adminSocket = config.adminSocket
    ? await startAdminSocket(layout.adminSocket, adminContext, logger, () => ({ pid: process.pid, url, ...versionInfo() }))
    : null;
  const metricsListener = config.metricsListen && metrics ? await startMetricsListener(config.metricsListen, metrics, config.metricsToken, logger) : null;
  writePidFile(layout);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down');
      await adminSocket?.close();
      await metricsListener?.app.close();
      if (adminSocket) fs.rmSync(layout.adminSocket, { force: true });
      removePidFile(layout);
      notifications.stop();
      await scheduler.stop();
      // Stop taking requests and sockets, let in-flight requests finish, then flush
      // documents before the database closes under them.
      const appClosed = closeHttp(app);
      await search.close();
      await sync.close();
      await appClosed;
      await media.close();
      relief.stop();
      await checkpointer.stop();
      storage.close();
      metrics?.stop();
      logger.info('stopped');
      logger.flush();
    })());

  // Listening already: a device that connects meanwhile is served, just without the head start.
  await warmUp(identity, logger);
  relief.reclaimNow();
  // Documents changed after their last indexing (a kill -9 inside the debounce window) are indexed again, in the background.
  void search.start().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'search catch-up failed'));
  scheduler.start();
  void notifications.afterStart(storage.db.select({ id: families.id }).from(families).all().map((f) => f.id));
  logger.info({ url, dataDir: layout.root }, 'hearth listening');
  return { url, port, app, storage, identity, layout, logger, sync, media, setupUrl, clock, scheduler, notifier, notifications, adminContext, search, vault, metrics, metricsUrl: metricsListener?.url ?? null, close };
}
