import type { Db } from '../storage/database.js';
import type { ServerDocs } from '../sync/server-docs.js';
import type { PersistentScheduler } from '../jobs/scheduler.js';
import { registerHousekeepingJobs } from '../jobs/housekeeping.js';
import { createInboxNotifier, type InboxNotifier } from './inbox.js';
import { registerReminderJobs, type ReminderService } from './reminders.js';
import { createChannelStore, type ChannelStore } from './channels.js';
import { registerPushJobs, type PushService } from './push.js';
import { registerDigestJobs, type DigestService } from './digest.js';
import { loadOrCreateSecretBox } from './secret-box.js';

export type { InboxNotification, Notifier } from './types.js';
export type { DigestSource, DigestSection, DigestContext, DigestService } from './digest.js';

export interface Notifications {
  notifier: InboxNotifier;
  reminders: ReminderService;
  channels: ChannelStore;
  push: PushService;
  digest: DigestService;
  /** After scheduler.start(): re-plans reminders and arms every family's digest. */
  afterStart(familyIds: string[]): Promise<void>;
  stop(): void;
}

export interface NotificationsDeps {
  scheduler: PersistentScheduler;
  docs: ServerDocs;
  db: Db;
  channelKeyFile: string;
  warn: (what: string, err: unknown, ctx?: Record<string, unknown>) => void;
}

/** The inbox, push channels, reminders, the weekly digest and housekeeping, with their jobs registered. */
export function createNotifications(deps: NotificationsDeps): Notifications {
  const { scheduler, docs, db } = deps;
  const notifier = createInboxNotifier({
    docs,
    clock: scheduler.clock,
    onError: (err, familyId, memberId, notificationId) => deps.warn('push step failed', err, { familyId, memberId, notificationId }),
  });
  const channels = createChannelStore(db, loadOrCreateSecretBox(deps.channelKeyFile));
  const push = registerPushJobs({ scheduler, notifier, channels, db });
  const reminders = registerReminderJobs({ scheduler, docs, notifier, db, onError: (err, familyId) => deps.warn('reminders re-plan failed', err, { familyId }) });
  const digest = registerDigestJobs({ scheduler, docs, notifier, db });
  registerHousekeepingJobs({ scheduler, db, alsoHourly: [() => digest.ensureAll()] });
  return {
    notifier,
    reminders,
    channels,
    push,
    digest,
    async afterStart(familyIds) {
      digest.ensureAll();
      await reminders.reconcileAll(familyIds);
    },
    stop: () => reminders.stop(),
  };
}
