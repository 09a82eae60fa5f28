import { useEffect, useRef, useState } from 'preact/hooks';
import type { SearchResult } from '../../../client/index.js';
import { ApiError, hearth, mediaUrl } from '../api';
import { highlightParts } from '../lib/highlight';
import { navigate } from '../router';
import { ErrorNote, Link, Unavailable, fmtTime, isMissing } from '../ui';

const PAGE = 20;

/** The snippet as text nodes, the hits in <mark>: never innerHTML, whatever the snippet holds. */
export function Snippet({ text, highlights }: { text: string; highlights: SearchResult['highlights'] }) {
  return (
    <span class="snippet">
      {highlightParts(text, highlights).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : p.text))}
    </span>
  );
}

/** Where a result opens in this app. */
export function hrefFor(r: SearchResult): string {
  if (r.kind === 'media') return r.mediaId ? `/photos?open=${encodeURIComponent(r.mediaId)}` : '/photos';
  const name = r.doc ?? '';
  const m = /^(lists|notes)\/(.+)$/.exec(name);
  if (m && m[2] !== 'index') return `/${m[1]}/${encodeURIComponent(m[2]!)}`;
  if (name === 'reminders') return '/reminders';
  if (name.startsWith('inbox/')) return '/inbox';
  return '/';
}

type State =
  | { state: 'idle' }
  | { state: 'loading'; results: SearchResult[] }
  | { state: 'ok'; results: SearchResult[]; nextCursor: string | null }
  | { state: 'missing' }
  | { state: 'error'; error: unknown; results: SearchResult[] };

export function SearchScreen() {
  const initial = new URLSearchParams(location.search).get('q') ?? '';
  const [q, setQ] = useState(initial);
  const [query, setQuery] = useState(initial.trim());
  const [s, setS] = useState<State>({ state: 'idle' });
  const inflight = useRef<AbortController | null>(null);
  const list = useRef<HTMLUListElement>(null);
  // After "More results" the button may vanish: keyboard focus moves to the first new result.
  const focusFrom = useRef<number | null>(null);
  useEffect(() => {
    if (s.state !== 'ok' || focusFrom.current === null) return;
    list.current?.querySelectorAll<HTMLAnchorElement>('li a')[focusFrom.current]?.focus();
    focusFrom.current = null;
  }, [s]);

  const run = (text: string, cursor?: string, prior: SearchResult[] = []) => {
    inflight.current?.abort();
    if (!text) return setS({ state: 'idle' });
    const ctl = new AbortController();
    inflight.current = ctl;
    setS({ state: 'loading', results: prior });
    hearth.search(text, { limit: PAGE, cursor, signal: ctl.signal }).then(
      (page) => !ctl.signal.aborted && setS({ state: 'ok', results: [...prior, ...page.results], nextCursor: page.nextCursor }),
      (error: unknown) => {
        if (ctl.signal.aborted) return;
        setS(isMissing(error) ? { state: 'missing' } : { state: 'error', error: explain(error), results: prior });
      },
    );
  };

  useEffect(() => {
    run(query);
    return () => inflight.current?.abort();
  }, [query]);

  if (s.state === 'missing') return <Unavailable what="Search" />;
  const results = s.state === 'idle' ? [] : s.results;
  return (
    <section aria-labelledby="search-h">
      <h1 id="search-h">Search</h1>
      <form
        role="search"
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const text = q.trim();
          // The query goes into the address, so back and reload keep it.
          navigate(text ? `/search?q=${encodeURIComponent(text)}` : '/search', true);
          if (text === query) run(text);
          else setQuery(text);
        }}
      >
        <label for="q" class="sr-only">
          Search the family's lists, notes and files
        </label>
        <input id="q" type="search" value={q} placeholder="Search lists, notes, photos" autocomplete="off" maxLength={500} onInput={(e) => setQ(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      {s.state === 'error' && <ErrorNote error={s.error} />}
      <p class="sr-only" role="status" aria-live="polite">
        {s.state === 'loading' ? 'Searching…' : s.state === 'ok' ? `${results.length}${s.nextCursor ? ' or more' : ''} results for ${query}` : ''}
      </p>
      {query && s.state !== 'idle' && (
        <ul class="list results" aria-label="Results" ref={list}>
          {results.map((r, i) => (
            <li key={`${r.kind}:${r.doc ?? r.mediaId ?? ''}:${i}`} class="result">
              {r.kind === 'media' && r.mediaId && <img class="result-thumb" src={mediaUrl(r.mediaId, 'thumb')} alt="" width={48} height={48} loading="lazy" />}
              <div>
                <Link href={hrefFor(r)}>{r.title || '(untitled)'}</Link>
                <small class="kind"> · {r.kind === 'media' ? 'file' : kindOf(r.doc)} · {fmtTime(r.updatedAt)}</small>
                <p class="snippet-line">
                  <Snippet text={r.snippet} highlights={r.highlights} />
                </p>
              </div>
            </li>
          ))}
          {s.state === 'ok' && results.length === 0 && <li class="empty">Nothing found for “{query}”.</li>}
        </ul>
      )}
      {s.state === 'ok' && s.nextCursor && (
        <button type="button" class="secondary" onClick={() => {
            focusFrom.current = results.length;
            run(query, s.nextCursor!, results);
          }}>
          More results
        </button>
      )}
      {s.state === 'loading' && <p aria-hidden="true">Searching…</p>}
    </section>
  );
}

function kindOf(doc: string | null): string {
  if (!doc) return 'document';
  if (doc.startsWith('lists/')) return 'list';
  if (doc.startsWith('notes/')) return 'note';
  if (doc === 'reminders') return 'reminders';
  return 'document';
}

/** 422 is the server saying the query itself cannot be searched: say that, not "validation failed". */
function explain(err: unknown): unknown {
  if (err instanceof ApiError && err.status === 422) {
    const why = err.details.map((d) => d.message).join('; ');
    return new Error(`That search cannot be run${why ? `: ${why}` : ''}. Try other words.`);
  }
  return err;
}
