/**
 * What every capability that tells a member something uses: the notification lands in
 * the member's `inbox/<memberId>` document (Y.Array `notifications`) and goes out on
 * the push channels configured for them. Schema for app developers: docs/notifications.md.
 */
export interface InboxNotification {
  /** Unique within the inbox: delivering the same id twice adds nothing. */
  id: string;
  kind: string;
  title: string;
  body: string;
  /** ISO 8601. */
  createdAt: string;
  /** What it is about, e.g. `reminders#<id>`, `vault/<entryId>`, `media/<id>`. */
  ref?: string;
}

export interface Notifier {
  /** Idempotent by id; resolves once the inbox entry is durable. Push channels follow on their own. */
  notify(familyId: string, memberId: string, n: Omit<InboxNotification, 'createdAt'> & { createdAt?: string }): Promise<void>;
}
