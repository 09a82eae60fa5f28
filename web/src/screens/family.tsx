import { useEffect, useState } from 'preact/hooks';
import { thumbHashToDataURL } from 'thumbhash';
import type { MediaRecord } from '../../../client/index.js';
import { hearth, mediaUrl, messageOf, session } from '../api';
import { useDoc } from '../docs';
import { ErrorNote, Link, Status, Unavailable, fmtTime, newId, useLoad } from '../ui';


function placeholder(hash: string | null): string | undefined {
  if (!hash) return undefined;
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(hash), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

function Thumb({ m, onOpen }: { m: MediaRecord; onOpen: () => void }) {
  const [loaded, setLoaded] = useState(false);
  const [failed, setFailed] = useState(false);
  const ph = placeholder(m.thumbhash);
  // A thumbnail still being made (or that failed) keeps its thumbhash placeholder.
  useEffect(() => {
    if (!failed || m.thumbnail !== 'pending') return;
    const timer = setTimeout(() => setFailed(false), 3000);
    return () => clearTimeout(timer);
  }, [failed]);
  return (
    <button type="button" class="thumb" onClick={onOpen} aria-label={`Open ${m.name}`}>
      {ph && !loaded && <img src={ph} alt="" aria-hidden="true" class="ph" />}
      {(m.thumbnail === 'ready' || m.thumbnail === 'pending') && !failed ? (
        <img src={mediaUrl(m.id, 'thumb')} alt={m.name} loading="lazy" class={loaded ? '' : 'loading'} onLoad={() => setLoaded(true)} onError={() => setFailed(true)} />
      ) : (
        <span class="file">{m.name}</span>
      )}
    </button>
  );
}

interface Uploading {
  key: string;
  name: string;
  progress: number;
  error?: string;
}

export function PhotosScreen() {
  const [list, reload] = useLoad(() => hearth.media.list({ limit: 100 }));
  const [uploads, setUploads] = useState<Uploading[]>([]);
  const [open, setOpen] = useState<MediaRecord | null>(null);
  // /photos?open=<id> (a search result) opens that file's lightbox once the list is in.
  useEffect(() => {
    const want = new URLSearchParams(location.search).get('open');
    if (want && list.state === 'ok') setOpen(list.value.items.find((m) => m.id === want) ?? null);
  }, [list.state]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(null);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);
  if (list.state === 'missing') return <Unavailable what="Photos" />;
  const pick = async (files: FileList | null) => {
    if (!files) return;
    const batch = [...files].map((f) => ({ file: f, key: newId() }));
    setUploads((u) => [...u, ...batch.map((b) => ({ key: b.key, name: b.file.name, progress: 0 }))]);
    const set = (key: string, patch: Partial<Uploading>) => setUploads((u) => u.map((x) => (x.key === key ? { ...x, ...patch } : x)));
    await Promise.all(
      batch.map((b) =>
        hearth.media
          .upload(b.file, {
            // Hash-first dedupe needs crypto.subtle, which browsers give only to https and localhost.
            dedupe: Boolean(globalThis.crypto?.subtle),
            onProgress: (p) => set(b.key, { progress: p.phase === 'done' ? 1 : p.total ? Math.min(0.99, p.loaded / p.total) : 0 }),
          })
          .then(
            () => set(b.key, { progress: 1 }),
            (e: unknown) => set(b.key, { error: messageOf(e) }),
          ),
      ),
    );
    reload();
  };
  return (
    <section aria-labelledby="photos-h">
      <h1 id="photos-h">Photos</h1>
      {session()?.role !== 'guest' && (
        <div class="field">
          <label for="upload">Upload photos and files</label>
          <input id="upload" type="file" multiple accept="image/*,video/*,application/pdf" onChange={(e) => pick(e.currentTarget.files)} />
        </div>
      )}
      {uploads.length > 0 && (
        <ul class="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.key}>
              <span>{u.name}</span>
              <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`} />
              {u.error ? <span class="error">{u.error}</span> : u.progress >= 1 ? <span>done</span> : null}
            </li>
          ))}
        </ul>
      )}
      {list.state === 'error' && <ErrorNote error={list.error} />}
      {list.state === 'ok' && (
        <div class="grid" aria-label="Photo grid">
          {list.value.items.map((m) => (
            <Thumb key={m.id} m={m} onOpen={() => setOpen(m)} />
          ))}
          {list.value.items.length === 0 && <p class="empty">No photos yet.</p>}
        </div>
      )}
      {open && (
        <div class="lightbox" role="dialog" aria-modal="true" aria-label={open.name} onClick={() => setOpen(null)}>
          <img src={open.kind === 'image' ? mediaUrl(open.id, 'preview') : mediaUrl(open.id, 'thumb')} alt={open.name} />
          <p>
            {open.name} · <a href={mediaUrl(open.id, 'original')} download={open.name} onClick={(e) => e.stopPropagation()}>original</a>
          </p>
          <button type="button" autoFocus onClick={() => setOpen(null)}>
            Close
          </button>
        </div>
      )}
    </section>
  );
}

interface Notification {
  id: string;
  kind: string;
  title: string;
  body: string;
  createdAt: string;
}

export function InboxScreen() {
  const { d, status, peers } = useDoc(`inbox/${session()!.memberId}`);
  const items = d.doc.getArray<Notification>('notifications').toArray().slice().reverse();
  return (
    <section aria-labelledby="inbox-h">
      <h1 id="inbox-h">Inbox</h1>
      <Status status={status} peers={peers} />
      <ul class="list">
        {items.map((n) => (
          <li key={n.id} class="notification">
            <strong>{n.title}</strong>
            <span>{n.body}</span>
            <small>{fmtTime(n.createdAt)}</small>
          </li>
        ))}
        {items.length === 0 && <li class="empty">Nothing new. Reminders and the weekly digest land here.</li>}
      </ul>
    </section>
  );
}

interface Reminder {
  title: string;
  dueAt: string;
  timezone?: string;
  recipients: string[] | 'family';
  repeat?: string;
  done?: boolean;
}

/** ISO 8601 with this browser's offset, as the reminders schema asks. */
function withOffset(local: string): string {
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${local.length === 16 ? local + ':00' : local}${sign}${hh}:${mm}`;
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function RemindersScreen() {
  const { d, status, peers } = useDoc('reminders');
  const map = d.doc.getMap<Reminder>('reminders');
  const [editing, setEditing] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [due, setDue] = useState('');
  const [repeat, setRepeat] = useState('');
  const [forMe, setForMe] = useState(false);
  const writable = session()?.role !== 'guest';
  const reset = () => {
    setEditing(null);
    setTitle('');
    setDue('');
    setRepeat('');
    setForMe(false);
  };
  const save = (e: Event) => {
    e.preventDefault();
    if (!title.trim() || !due) return;
    const prev = editing ? map.get(editing) : undefined;
    const value: Reminder = {
      title: title.trim(),
      dueAt: withOffset(due),
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      recipients: forMe ? [session()!.memberId] : 'family',
      ...(repeat ? { repeat } : {}),
      done: prev?.done ?? false,
    };
    map.set(editing ?? newId(), value);
    reset();
  };
  const edit = (id: string, r: Reminder) => {
    setEditing(id);
    setTitle(r.title);
    setDue(toLocalInput(r.dueAt));
    setRepeat(r.repeat ?? '');
    setForMe(r.recipients !== 'family');
  };
  const all = [...map.entries()].sort((a, b) => Date.parse(a[1].dueAt) - Date.parse(b[1].dueAt));
  return (
    <section aria-labelledby="rem-h">
      <h1 id="rem-h">Reminders</h1>
      <Status status={status} peers={peers} />
      <ul class="list">
        {all.map(([id, r]) => (
          <li key={id} class={r.done ? 'done' : ''}>
            <label>
              <input type="checkbox" checked={Boolean(r.done)} disabled={!writable} onChange={(e) => map.set(id, { ...r, done: e.currentTarget.checked })} />{' '}
              <span>
                {r.title} <small>· {fmtTime(r.dueAt)}{r.repeat ? ` · ${r.repeat}` : ''}{r.recipients === 'family' ? ' · family' : ' · me'}</small>
              </span>
            </label>
            {writable && (
              <button type="button" class="link" onClick={() => edit(id, r)} aria-label={`Edit ${r.title}`}>
                Edit
              </button>
            )}
          </li>
        ))}
        {all.length === 0 && <li class="empty">No reminders.</li>}
      </ul>
      {writable && (
        <form onSubmit={save} aria-label={editing ? 'Edit reminder' : 'New reminder'} class="card">
          <h2>{editing ? 'Edit reminder' : 'New reminder'}</h2>
          <div class="field">
            <label for="rem-title">What</label>
            <input id="rem-title" value={title} required onInput={(e) => setTitle(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="rem-due">When</label>
            <input id="rem-due" type="datetime-local" value={due} required onInput={(e) => setDue(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="rem-repeat">Repeat</label>
            <select id="rem-repeat" value={repeat} onChange={(e) => setRepeat(e.currentTarget.value)}>
              <option value="">never</option>
              <option value="daily">daily</option>
              <option value="weekly">weekly</option>
              <option value="monthly">monthly</option>
            </select>
          </div>
          <label class="check">
            <input type="checkbox" checked={forMe} onChange={(e) => setForMe(e.currentTarget.checked)} /> Only for me (otherwise the whole family)
          </label>
          <div class="row">
            <button type="submit">{editing ? 'Save' : 'Add reminder'}</button>
            {editing && (
              <button type="button" class="secondary" onClick={reset}>
                Cancel
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}
