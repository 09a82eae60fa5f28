/** What the client keeps between requests (and, with a persistent storage, between launches). */
export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, ms since epoch on this device's clock. */
  accessExpiresAt: number;
  /** The access token's lifetime as the server stated it, seconds. */
  expiresIn: number;
  familyId: string;
  memberId: string;
  deviceId: string;
  role: string;
}

/**
 * Where tokens live. Sync or async, so localStorage, SecureStore (React Native) or an
 * encrypted file all fit. The refresh token is a long-lived credential: pick accordingly.
 */
export interface TokenStorage {
  get(): StoredSession | null | Promise<StoredSession | null>;
  set(session: StoredSession): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** The default: tokens live as long as the page or process. */
export function memoryStorage(initial: StoredSession | null = null): TokenStorage {
  let value = initial;
  return {
    get: () => value,
    set: (s) => {
      value = s;
    },
    clear: () => {
      value = null;
    },
  };
}

interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Tokens in a Web Storage object (window.localStorage), shared by the tabs of one origin. */
export function webStorage(store: KeyValueStore, key = 'hearth.session'): TokenStorage {
  return {
    get() {
      const raw = store.getItem(key);
      if (!raw) return null;
      try {
        return JSON.parse(raw) as StoredSession;
      } catch {
        return null;
      }
    },
    set: (s) => store.setItem(key, JSON.stringify(s)),
    clear: () => store.removeItem(key),
  };
}
