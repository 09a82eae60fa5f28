import * as Y from 'yjs';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session } from '../api';
import { useDoc } from '../docs';
import { navigate } from '../router';
import { Link, Status, newId } from '../ui';

const canWrite = () => session()?.role !== 'guest';

function ReadOnlyNote() {
  return canWrite() ? null : <p class="note">You are a guest: you can read, not change, the family's documents.</p>;
}

/** An index document (`lists/index`, `notes/index`): id → { title, createdAt }. */
function IndexScreen({ kind, title }: { kind: 'lists' | 'notes'; title: string }) {
  const { d, status, peers } = useDoc(`${kind}/index`);
  const entries = d.doc.getMap<{ title: string; createdAt: number }>(kind);
  const [name, setName] = useState('');
  const add = (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return;
    const id = newId();
    entries.set(id, { title: name.trim(), createdAt: Date.now() });
    setName('');
    navigate(`/${kind}/${id}`);
  };
  const items = [...entries.entries()].sort((a, b) => a[1].createdAt - b[1].createdAt);
  return (
    <section aria-labelledby="idx-h">
      <h1 id="idx-h">{title}</h1>
      <Status status={status} peers={peers} />
      <ReadOnlyNote />
      <ul class="list">
        {items.map(([id, v]) => (
          <li key={id}>
            <Link href={`/${kind}/${id}`}>{v.title}</Link>
          </li>
        ))}
        {items.length === 0 && <li class="empty">Nothing here yet.</li>}
      </ul>
      {canWrite() && (
        <form onSubmit={add} class="row" aria-label={`New ${kind === 'lists' ? 'list' : 'note'}`}>
          <label for="new-name" class="sr-only">
            Name
          </label>
          <input id="new-name" value={name} placeholder={kind === 'lists' ? 'Shopping' : 'Holiday plans'} onInput={(e) => setName(e.currentTarget.value)} />
          <button type="submit">Add</button>
        </form>
      )}
    </section>
  );
}

export const ListsScreen = () => <IndexScreen kind="lists" title="Lists" />;
export const NotesScreen = () => <IndexScreen kind="notes" title="Notes" />;

type Item = Y.Map<unknown>;

/** A shared list: Y.Array `items` of Y.Map { text, done }. Concurrent edits merge. */
export function ListScreen({ id }: { id: string }) {
  const { d, status, peers } = useDoc(`lists/${id}`);
  const index = useDoc('lists/index').d.doc.getMap<{ title: string }>('lists');
  const items = d.doc.getArray<Item>('items');
  const [text, setText] = useState('');
  const writable = canWrite();
  const add = (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return;
    const m = new Y.Map<unknown>();
    m.set('text', text.trim());
    m.set('done', false);
    items.push([m]);
    setText('');
  };
  return (
    <section aria-labelledby="list-h">
      <p>
        <Link href="/lists">← Lists</Link>
      </p>
      <h1 id="list-h">{index.get(id)?.title ?? 'List'}</h1>
      <Status status={status} peers={peers} />
      <ReadOnlyNote />
      <ul class="list items" aria-label="Items">
        {items.toArray().map((m, i) => {
          const label = String(m.get('text') ?? '');
          return (
            <li key={i} class={m.get('done') ? 'done' : ''}>
              <label>
                <input type="checkbox" checked={Boolean(m.get('done'))} disabled={!writable} onChange={(e) => m.set('done', e.currentTarget.checked)} /> <span class="item-text">{label}</span>
              </label>
              {writable && (
                <button type="button" class="link" aria-label={`Remove ${label}`} onClick={() => items.delete(items.toArray().indexOf(m), 1)}>
                  ✕
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {writable && (
        <form onSubmit={add} class="row" aria-label="Add an item">
          <label for="new-item" class="sr-only">
            New item
          </label>
          <input id="new-item" value={text} placeholder="Add an item" onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit">Add</button>
        </form>
      )}
    </section>
  );
}

/** Applies a textarea edit to Y.Text as one delete + insert at the changed span. */
function applyDiff(t: Y.Text, before: string, after: string): void {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--;
    endA--;
  }
  t.doc!.transact(() => {
    if (endB > start) t.delete(start, endB - start);
    if (endA > start) t.insert(start, after.slice(start, endA));
  });
}

/** Where a caret at `at` ends up after a remote change described by a Yjs delta. */
function shift(at: number, delta: Array<{ insert?: unknown; delete?: number; retain?: number }>): number {
  let pos = 0;
  let out = at;
  for (const op of delta) {
    if (op.retain) pos += op.retain;
    else if (typeof op.insert === 'string') {
      if (pos < out) out += op.insert.length;
      pos += op.insert.length;
    } else if (op.delete) {
      if (pos < out) out -= Math.min(op.delete, out - pos);
    }
  }
  return out;
}

export function NoteScreen({ id }: { id: string }) {
  const { d, status, peers } = useDoc(`notes/${id}`);
  const index = useDoc('notes/index').d.doc.getMap<{ title: string }>('notes');
  const text = d.doc.getText('body');
  const ref = useRef<HTMLTextAreaElement>(null);
  // Remote changes reach the textarea synchronously, so at every input event the
  // textarea and the Y.Text agree and the diff is exactly the user's keystroke.
  useEffect(() => {
    const el = ref.current!;
    el.value = text.toString();
    const onChange = (ev: Y.YTextEvent, tr: Y.Transaction) => {
      if (tr.local) return;
      const focused = document.activeElement === el;
      const start = shift(el.selectionStart, ev.delta as never);
      const end = shift(el.selectionEnd, ev.delta as never);
      el.value = text.toString();
      if (focused) el.setSelectionRange(start, end);
    };
    text.observe(onChange);
    return () => text.unobserve(onChange);
  }, [text]);
  return (
    <section aria-labelledby="note-h">
      <p>
        <Link href="/notes">← Notes</Link>
      </p>
      <h1 id="note-h">{index.get(id)?.title ?? 'Note'}</h1>
      <Status status={status} peers={peers} />
      <ReadOnlyNote />
      <label for="note-body" class="sr-only">
        Note text
      </label>
      <textarea id="note-body" ref={ref} rows={14} readOnly={!canWrite()} onInput={(e) => applyDiff(text, text.toString(), e.currentTarget.value)} />
    </section>
  );
}
