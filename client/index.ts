// hearth's TypeScript client: browser-, React-Native- and Node-safe (fetch, WebSocket and
// crypto.subtle are injected or taken from globalThis; nothing here imports Node modules).
export { createHearthClient, type HearthClient, type HearthClientOptions, type PollOptions } from './client.js';
export { HearthApiError, HearthNetworkError, SessionRevokedError, type ApiErrorDetail, type ApiErrorEnvelope, type SessionEndReason } from './errors.js';
export { memoryStorage, webStorage, type StoredSession, type TokenStorage } from './storage.js';
export { Transport, type FetchFn, type RequestOptions } from './transport.js';
export { syncServerUrl, type ProviderOptions, type WebSocketConstructor } from './sync.js';
export { MediaApi, type MediaVariant, type UploadInput, type UploadOptions, type UploadProgress, type UploadResult } from './media.js';
export { PairingError, pairingTokenQrPayload, parsePairingQr, type PairingStart, type ParsedPairingQr } from './pairing.js';
export { INBOX_ARRAY, inboxDocName, observeInbox, readInbox, type InboxNotification } from './inbox.js';
export { REMINDERS_DOC, REMINDERS_MAP, Reminders, validateReminder, type Reminder, type ReminderEntry, type ReminderRepeat } from './reminders.js';
export type * from './types.js';
export {
  DEFAULT_KDF,
  VaultDecryptError,
  VaultError,
  WrongPassphraseError,
  decryptAttachment,
  encryptAttachment,
  fromB64,
  generateKeyPair,
  openEntry,
  paddingBlock,
  rewrapPrivateKey,
  sealEntry,
  toB64,
  unwrapPrivateKey,
  vaultSodium,
  verificationPhrase,
  wrapPrivateKey,
  type KdfParams,
  type SealedEntry,
  type VaultAttachmentRef,
  type VaultContent,
  type VaultKeyPair,
  type VaultRecipientKey,
  type WrappedPrivateKey,
} from './vault.js';
export { VAULT_WORDS } from './vault-words.js';
