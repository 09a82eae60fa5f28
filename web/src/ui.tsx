import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, messageOf } from './api';
import { onLink } from './router';

export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  return (
    <a href={props.href} class={props.class} onClick={onLink} aria-current={props['aria-current']}>
      {props.children}
    </a>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = messageOf(error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

/** The server answered 404 for a whole capability: this hearth does not have it (yet). */
export function isMissing(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export function Unavailable({ what }: { what: string }) {
  return (
    <div class="card unavailable" role="status">
      <h2>{what}: not available on this server</h2>
      <p>This hearth does not offer {what.toLowerCase()} yet. Upgrading hearth brings it; nothing else is affected.</p>
    </div>
  );
}

/**
 * A form's submit: `busy` while `run`'s work is under way, its failure in `error`
 * (through `explain` when given), so a form writes its work and not the bookkeeping.
 */
export function useAction(): { busy: boolean; error: unknown; setError: (e: unknown) => void; run: (work: () => Promise<void>, explain?: (e: unknown) => unknown) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<void>, explain: (e: unknown) => unknown = (e) => e) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'missing' } | { state: 'error'; error: unknown };

/** Loads once (and again when `deps` change or `reload` is called). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): [Loaded<T>, () => void] {
  const [n, setN] = useState(0);
  const [value, setValue] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    load().then(
      (v) => live && setValue({ state: 'ok', value: v }),
      (e: unknown) => live && setValue(isMissing(e) ? { state: 'missing' } : { state: 'error', error: e }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return [value, () => setN((x) => x + 1)];
}

export function Status({ status, peers }: { status: string; peers: string[] }) {
  return (
    <p class="status" aria-live="polite">
      <span class={`dot ${status}`} aria-hidden="true" /> {status === 'online' ? 'Synced live' : status === 'connecting' ? 'Connecting…' : 'Offline: changes are kept on this device'}
      {peers.length > 0 && <span class="peers"> · also here: {peers.join(', ')}</span>}
    </p>
  );
}

export function newId(): string {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(36).padStart(2, '0')).join('').slice(0, 12);
}

export function fmtTime(ms: number | string): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
