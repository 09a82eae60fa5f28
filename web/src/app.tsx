import { useEffect, useState } from 'preact/hooks';
import { hearth, onSession, session, signOut, type Session } from './api';
import { setPresenceName } from './docs';
import { navigate, usePath } from './router';
import { Link } from './ui';
import { ApprovePairingScreen, JoinScreen, PairBrowserScreen, SetupScreen, SignInScreen } from './screens/auth';
import { ListScreen, ListsScreen, NoteScreen, NotesScreen } from './screens/lists';
import { InboxScreen, PhotosScreen, RemindersScreen } from './screens/family';
import { SearchScreen } from './screens/search';
import { AdminScreen } from './screens/admin';
import { VaultScreen } from './screens/vault';

const NAV: Array<[string, string]> = [
  ['/', 'Home'],
  ['/lists', 'Lists'],
  ['/notes', 'Notes'],
  ['/photos', 'Photos'],
  ['/reminders', 'Reminders'],
  ['/inbox', 'Inbox'],
  ['/vault', 'Vault'],
  ['/search', 'Search'],
  ['/admin', 'Family'],
];

function Home({ name }: { name: string }) {
  return (
    <section aria-labelledby="home-h">
      <h1 id="home-h">Hello, {name}</h1>
      <ul class="tiles">
        {NAV.slice(1).map(([href, label]) => (
          <li key={href}>
            <Link href={href}>{label}</Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Signed({ path }: { path: string }) {
  const [name, setName] = useState('');
  useEffect(() => {
    hearth.auth.me().then(
      (me) => {
        setName(me.member.displayName);
        setPresenceName(me.member.displayName);
      },
      () => {},
    );
  }, []);
  const segs = path.split('/').filter(Boolean);
  let screen;
  if (segs[0] === 'lists' && segs[1]) screen = <ListScreen key={segs[1]} id={segs[1]} />;
  else if (segs[0] === 'notes' && segs[1]) screen = <NoteScreen key={segs[1]} id={segs[1]} />;
  else
    switch (segs[0]) {
      case undefined:
        screen = <Home name={name} />;
        break;
      case 'lists':
        screen = <ListsScreen />;
        break;
      case 'notes':
        screen = <NotesScreen />;
        break;
      case 'photos':
        screen = <PhotosScreen />;
        break;
      case 'reminders':
        screen = <RemindersScreen />;
        break;
      case 'inbox':
        screen = <InboxScreen />;
        break;
      case 'vault':
        screen = <VaultScreen />;
        break;
      case 'search':
        screen = <SearchScreen />;
        break;
      case 'admin':
        screen = <AdminScreen />;
        break;
      case 'pair':
        screen = <ApprovePairingScreen />;
        break;
      default:
        screen = (
          <section>
            <h1>Not found</h1>
            <Link href="/">Home</Link>
          </section>
        );
    }
  const top = `/${segs[0] ?? ''}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <Link href="/" class="brand">
          hearth
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.slice(1).map(([href, label]) => (
              <li key={href}>
                <Link href={href} aria-current={top === href ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary small" onClick={() => signOut().then(() => navigate('/signin'))}>
          Sign out
        </button>
      </header>
      <main id="main">{screen}</main>
    </>
  );
}

/** Where a path must go instead, given whether this browser is signed in. */
function redirectFor(path: string, signedIn: boolean): string | null {
  if (path === '/setup' || path === '/join') return null;
  if (!signedIn) {
    if (path === '/signin' || path === '/pair-browser' || path === '/pair') return null;
    return path === '/' ? '/signin' : `/signin?next=${encodeURIComponent(path + location.search)}`;
  }
  return path === '/signin' || path === '/pair-browser' ? '/' : null;
}

export function App() {
  const path = usePath();
  const [s, setS] = useState<Session | null>(session());
  useEffect(() => onSession(setS), []);
  const redirect = redirectFor(path, s !== null);
  useEffect(() => {
    if (redirect) navigate(redirect, true);
  }, [redirect]);
  if (redirect) return null;
  if (path === '/setup') return <SetupScreen />;
  if (path === '/join') return <JoinScreen />;
  if (!s) {
    if (path === '/pair-browser') return <PairBrowserScreen />;
    if (path === '/pair')
      return (
        <main class="narrow">
          <ApprovePairingScreen />
        </main>
      );
    return <SignInScreen />;
  }
  return <Signed path={path} />;
}
