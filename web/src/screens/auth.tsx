import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { PairingError, type PairingStart } from '../../../client/pairing.js';
import type { SetupStatus } from '../../../client/types.js';
import { ApiError, defaultDeviceName, hearth, session } from '../api';
import { navigate } from '../router';
import { ErrorNote, Link } from '../ui';


function Field(props: { label: string; name: string; type?: string; value: string; onInput: (v: string) => void; autocomplete?: string; required?: boolean; minLength?: number; hint?: string }) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={(props.type ?? 'text') as 'text'}
        value={props.value}
        autocomplete={props.autocomplete}
        required={props.required ?? true}
        minLength={props.minLength}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

export function SetupScreen() {
  const token = location.hash.slice(1);
  const [familyName, setFamilyName] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [deviceName, setDeviceName] = useState(defaultDeviceName());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<SetupStatus | null>(null);
  useEffect(() => {
    hearth.setup.status().then(setStatus, setError);
  }, []);

  if (status && !status.setupRequired) {
    return (
      <main class="narrow">
        <h1>hearth is set up</h1>
        <p>This server already has its family; the setup link no longer works.</p>
        <Link href="/signin">Sign in</Link>
      </main>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      history.replaceState(null, '', '/');
      await hearth.setup.create({ token, familyName, username, password, deviceName });
      navigate('/', true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="narrow">
      <h1>Welcome to hearth</h1>
      <p>Create your family and your own account. You will be its owner.</p>
      {!token && <p class="error" role="alert">This page needs the setup link that <code>hearth serve</code> printed.</p>}
      {status && !status.setupLinkLive && token && <p class="error" role="alert">This setup link has expired: restart hearth for a fresh one.</p>}
      <form onSubmit={submit} aria-label="Create the family">
        <Field label="Family name" name="familyName" value={familyName} onInput={setFamilyName} />
        <Field label="Your username" name="username" value={username} onInput={setUsername} autocomplete="username" hint="lower case letters, digits, . _ -" />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword} autocomplete="new-password" minLength={10} hint="at least 10 characters" />
        <Field label="Name of this device" name="deviceName" value={deviceName} onInput={setDeviceName} />
        <ErrorNote error={error} />
        <button type="submit" disabled={busy || !token}>
          {busy ? 'Creating…' : 'Create family'}
        </button>
      </form>
    </main>
  );
}

export function SignInScreen() {
  const [familyId, setFamilyId] = useState(localStorage.getItem('hearth.familyId') ?? '');
  const [askFamily, setAskFamily] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    hearth.setup.status().then(
      (s) => {
        if (s.familyId) setFamilyId(s.familyId);
        else setAskFamily(true);
      },
      () => setAskFamily(true),
    );
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await hearth.auth.login({ familyId, username, password, deviceName: defaultDeviceName() });
      const back = new URLSearchParams(location.search).get('next');
      navigate(back && back.startsWith('/') && !back.startsWith('//') ? back : '/', true);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error('Wrong username or password.') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="narrow">
      <h1>Sign in to hearth</h1>
      <form onSubmit={submit} aria-label="Sign in">
        {askFamily && <Field label="Family id" name="familyId" value={familyId} onInput={setFamilyId} hint="ask whoever runs your hearth" />}
        <Field label="Username" name="username" value={username} onInput={setUsername} autocomplete="username" />
        <Field label="Password" name="password" type="password" value={password} onInput={setPassword} autocomplete="current-password" />
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        No password, or on a child's tablet? <Link href="/pair-browser">Pair this browser with a code</Link>
      </p>
    </main>
  );
}

/** RFC 8628 from the new device's side: show the code (and a QR of the approving page), poll until approved. */
export function PairBrowserScreen() {
  const [deviceName, setDeviceName] = useState(defaultDeviceName());
  const [start, setStart] = useState<PairingStart | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');

  useEffect(() => {
    if (!start) return;
    const stop = new AbortController();
    QRCode.toDataURL(start.qrPayload, { margin: 1, width: 220 }).then(setQr, () => setQr(null));
    // The SDK polls at the server's interval, slowing down when told to (RFC 8628).
    const poll = async (): Promise<void> => {
      try {
        await hearth.pairing.poll(start, { signal: stop.signal });
        navigate('/', true);
      } catch (err) {
        if (stop.signal.aborted) return;
        if (err instanceof PairingError) return setNote(err.reason === 'access_denied' ? 'The pairing was denied.' : 'The code expired. Start again.');
        // Offline or a server error: say so and keep waiting.
        setNote('Waiting for the server…');
        if (!stop.signal.aborted) setTimeout(() => void poll(), start.interval * 1000);
      }
    };
    void poll();
    return () => stop.abort();
  }, [start]);

  const begin = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setStart(await hearth.pairing.start(deviceName));
    } catch (err) {
      setError(err);
    }
  };
  if (start) {
    return (
      <main class="narrow">
        <h1>Pair this browser</h1>
        <p>On a phone or computer that is already signed in, open <strong>{start.verificationUri}</strong> and enter this code, or scan the QR code.</p>
        <p class="user-code" aria-label="pairing code" data-testid="user-code">
          {start.userCode}
        </p>
        {qr && <img class="qr" src={qr} width={220} height={220} alt={`QR code for ${start.verificationUri}`} />}
        <p role="status" aria-live="polite">
          {note || 'Waiting for approval…'}
        </p>
      </main>
    );
  }
  return (
    <main class="narrow">
      <h1>Pair this browser</h1>
      <form onSubmit={begin} aria-label="Pair this browser">
        <Field label="Name of this device" name="deviceName" value={deviceName} onInput={setDeviceName} />
        <ErrorNote error={error} />
        <button type="submit">Show a pairing code</button>
      </form>
      <p>
        <Link href="/signin">Sign in with a password instead</Link>
      </p>
    </main>
  );
}

/** The verification page (`/pair` from POST /v1/pair/start): a signed-in member names and approves the device. */
export function ApprovePairingScreen() {
  const [code, setCode] = useState(new URLSearchParams(location.search).get('code') ?? '');
  const [device, setDevice] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (!session()) {
    return (
      <main class="narrow">
        <h1>Approve a device</h1>
        <p>Sign in first; then this page lets you approve the code.</p>
        <Link href={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`}>Sign in</Link>
      </main>
    );
  }
  const inspect = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setDevice((await hearth.pairing.inspect(code)).deviceName);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 404 ? new Error('No device is waiting with that code (it may have expired).') : err);
    }
  };
  const decide = async (approve: boolean) => {
    try {
      const r = approve ? await hearth.pairing.approve(code) : await hearth.pairing.deny(code);
      setDone(approve ? `${r.deviceName} is paired.` : `${r.deviceName} was turned away.`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="narrow" aria-labelledby="approve-h">
      <h1 id="approve-h">Approve a device</h1>
      {done ? (
        <p role="status">{done}</p>
      ) : device ? (
        <div class="card">
          <p>
            <strong>{device}</strong> wants to join your account.
          </p>
          <div class="row">
            <button type="button" onClick={() => decide(true)}>
              Approve {device}
            </button>
            <button type="button" class="secondary" onClick={() => decide(false)}>
              Deny
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={inspect} aria-label="Pairing code">
          <Field label="Code shown on the new device" name="userCode" value={code} onInput={setCode} autocomplete="off" />
          <button type="submit">Continue</button>
        </form>
      )}
      <ErrorNote error={error} />
    </section>
  );
}

/** Accept an invite (`/join#<code>`): creates the member and signs this browser in. */
export function JoinScreen() {
  const code = location.hash.slice(1);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await hearth.invites.accept({ code, username, password: password || undefined, deviceName: defaultDeviceName() });
      navigate('/', true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main class="narrow">
      <h1>Join the family</h1>
      <form onSubmit={submit} aria-label="Join the family">
        <Field label="Choose a username" name="username" value={username} onInput={setUsername} autocomplete="username" />
        <Field label="Password (optional)" name="password" type="password" value={password} onInput={setPassword} autocomplete="new-password" required={false} hint="leave empty for a device-only account" />
        <ErrorNote error={error} />
        <button type="submit" disabled={!code}>
          Join
        </button>
      </form>
    </main>
  );
}
