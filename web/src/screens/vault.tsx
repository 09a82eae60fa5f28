import { useEffect, useState } from 'preact/hooks';
import type { Member } from '../../../client/types.js';
import type { VaultContent, VaultKeyPair } from '../../../client/vault.js';
import { hearth, session } from '../api';
import { vaultApi, type MemberKey, type VaultEntryInfo, type VaultPolicyInput, type VaultPolicyView } from '../vault-api';
import { ErrorNote, Unavailable, fmtTime, isMissing, useAction } from '../ui';

// libsodium (WebAssembly) is loaded only when the vault screen opens: the rest of the app
// does not pay for it at first render.
const crypto = () => import('../../../client/vault.js');

/** The unlocked key pair lives in memory for this page only: a reload asks for the passphrase again. */
let unlocked: VaultKeyPair | null = null;

type Load =
  | { state: 'loading' }
  | { state: 'missing' }
  | { state: 'error'; error: unknown }
  | { state: 'ok'; mine: { publicKey: string; wrapped: Parameters<typeof vaultApi.registerKey>[1] } | null; keys: MemberKey[]; members: Member[]; entries: VaultEntryInfo[] };

export function VaultScreen() {
  const [data, setData] = useState<Load>({ state: 'loading' });
  const [n, setN] = useState(0);
  const reload = () => setN((x) => x + 1);
  useEffect(() => {
    let live = true;
    (async () => {
      // The key list first: a 404 there means this hearth has no vault (yet).
      const keys = await vaultApi.keys();
      const [mine, members, entries] = await Promise.all([vaultApi.myKey(), hearth.family.members.list(), vaultApi.entries()]);
      return { keys, mine, members, entries };
    })().then(
      (v) => live && setData({ state: 'ok', ...v }),
      (error: unknown) => live && setData(isMissing(error) ? { state: 'missing' } : { state: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [n]);
  const [, setUnlockedTick] = useState(0);
  if (data.state === 'missing') return <Unavailable what="The vault" />;
  return (
    <section aria-labelledby="vault-h">
      <h1 id="vault-h">Vault</h1>
      <p>Letters and papers that open later: on a date, or when their owner stops checking in. They are encrypted on this device; the server cannot read them.</p>
      {data.state === 'loading' && <p>Loading…</p>}
      {data.state === 'error' && <ErrorNote error={data.error} />}
      {data.state === 'ok' &&
        (!data.mine ? (
          <SetUp onDone={reload} />
        ) : !unlocked ? (
          <Unlock wrapped={data.mine.wrapped} onDone={() => setUnlockedTick((x) => x + 1)} />
        ) : (
          <Open data={data} reload={reload} />
        ))}
    </section>
  );
}

function Phrase({ publicKey, label }: { publicKey: string; label: string }) {
  const [phrase, setPhrase] = useState('');
  useEffect(() => {
    void crypto().then((c) => c.verificationPhrase(publicKey).then(setPhrase));
  }, [publicKey]);
  return (
    <p>
      {label}: <strong class="phrase" data-testid={label === 'Your verification phrase' ? 'phrase' : undefined}>{phrase || '…'}</strong>
    </p>
  );
}

function SetUp({ onDone }: { onDone: () => void }) {
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const { busy, error, setError, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (pass !== again) return setError(new Error('The two passphrases differ.'));
    await run(async () => {
      const c = await crypto();
      const kp = await c.generateKeyPair();
      const wrapped = await c.wrapPrivateKey(kp, pass);
      await vaultApi.registerKey(c.toB64(kp.publicKey), wrapped);
      unlocked = kp;
      onDone();
    });
  };
  return (
    <form class="card" aria-label="Set up your vault keys" onSubmit={submit}>
      <h2>Set up your vault</h2>
      <p>Choose a vault passphrase. It unlocks your key on any device; nobody, not even the server, can recover it if you forget it.</p>
      <div class="field">
        <label for="v-pass">Vault passphrase</label>
        <input id="v-pass" type="password" autocomplete="new-password" minLength={10} required value={pass} aria-describedby="v-pass-hint" onInput={(e) => setPass(e.currentTarget.value)} />
        <small id="v-pass-hint" class="hint">
          at least 10 characters; a few unrelated words work well
        </small>
      </div>
      <div class="field">
        <label for="v-pass2">Passphrase again</label>
        <input id="v-pass2" type="password" autocomplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Making your keys…' : 'Create my vault keys'}
      </button>
    </form>
  );
}

function Unlock({ wrapped, onDone }: { wrapped: Parameters<typeof vaultApi.registerKey>[1]; onDone: () => void }) {
  const [pass, setPass] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    await run(
      async () => {
        const c = await crypto();
        unlocked = await c.unwrapPrivateKey(wrapped, pass);
        onDone();
      },
      (err) => ((err as Error).name === 'WrongPassphraseError' ? new Error('That passphrase does not unlock your vault key.') : err),
    );
  };
  return (
    <form class="card" aria-label="Unlock your vault" onSubmit={submit}>
      <h2>Unlock your vault</h2>
      <div class="field">
        <label for="v-unlock">Vault passphrase</label>
        <input id="v-unlock" type="password" autocomplete="current-password" required value={pass} onInput={(e) => setPass(e.currentTarget.value)} />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Unlocking…' : 'Unlock'}
      </button>
    </form>
  );
}

function policyText(p: VaultPolicyView): string {
  const parts: string[] = [];
  if (p.releaseAt !== null) parts.push(`opens ${fmtTime(p.releaseAt)}${p.timezone ? ` (${p.timezone})` : ''}`);
  if (p.inactivityDays !== null) parts.push(`opens after ${p.inactivityDays} days without a check-in (last ${fmtTime(p.lastCheckinAt)})`);
  if (p.requestWaitDays !== null) parts.push(`opens ${days(p.requestWaitDays)} after a request, unless refused`);
  return parts.join(' or ') || 'no release policy';
}

const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

/** A pending request, as its owner reads it: who asked, when it opens unless refused. */
function requestText(e: VaultEntryInfo, nameOf: (id: string) => string): string {
  const lapse = e.requestedAt! + e.policy.requestWaitDays! * 86_400_000;
  return `${e.requestedBy ? nameOf(e.requestedBy) : 'A recipient'} asked for it ${fmtTime(e.requestedAt!)}; it opens ${fmtTime(lapse)} unless you refuse`;
}

function Open({ data, reload }: { data: Extract<Load, { state: 'ok' }>; reload: () => void }) {
  const me = session()!.memberId;
  const nameOf = (id: string) => data.members.find((m) => m.id === id)?.displayName ?? 'a former member';
  const mine = data.entries.filter((e) => e.ownerMemberId === me);
  const forMe = data.entries.filter((e) => e.ownerMemberId !== me && e.recipients.includes(me));
  const [error, setError] = useState<unknown>(null);
  const [checked, setChecked] = useState<number | null>(null);
  const [opened, setOpened] = useState<Record<string, VaultContent>>({});
  const open = async (e: VaultEntryInfo) => {
    setError(null);
    try {
      const c = await crypto();
      const got = await vaultApi.sealed(e.id);
      const content = await c.openEntry({ id: e.id, ciphertext: got.ciphertext, sealedKey: got.sealedKey, keyPair: unlocked! });
      setOpened((o) => ({ ...o, [e.id]: content }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <div class="card">
        <h2>Your key</h2>
        <Phrase publicKey={data.mine!.publicKey} label="Your verification phrase" />
        <p class="hint">Compare it in person with what another member's screen shows for you: the same words mean the server handed out your real key.</p>
        {data.keys.filter((k) => k.memberId !== me).length > 0 && (
          <details>
            <summary>Other members' phrases</summary>
            {data.keys
              .filter((k) => k.memberId !== me)
              .map((k) => (
                <Phrase key={k.memberId} publicKey={k.publicKey} label={nameOf(k.memberId)} />
              ))}
          </details>
        )}
        {mine.some((e) => e.status === 'sealed' && e.policy.inactivityDays !== null) && (
          <p class="row">
            <button
              type="button"
              onClick={() =>
                vaultApi.checkIn().then(
                  (r) => setChecked(r.at),
                  (err: unknown) => setError(err),
                )
              }
            >
              Check in
            </button>
            {checked !== null && <span role="status">Checked in {fmtTime(checked)}.</span>}
          </p>
        )}
      </div>
      <ErrorNote error={error} />
      <NewEntry data={data} onDone={reload} />
      <section class="card" aria-labelledby="v-mine-h">
        <h2 id="v-mine-h">Your entries</h2>
        <ul class="list">
          {mine.map((e) => (
            <li key={e.id}>
              <span>
                For {e.recipients.map(nameOf).join(', ')} <small>· {e.status === 'sealed' ? policyText(e.policy) : e.status}</small>
              </span>
              {e.status === 'sealed' && e.requestedAt !== null && e.policy.requestWaitDays !== null && (
                <span class="row">
                  <strong role="status">{requestText(e, nameOf)}</strong>
                  <button type="button" onClick={() => vaultApi.veto(e.id).then(reload, setError)}>
                    Refuse release request from {e.requestedBy ? nameOf(e.requestedBy) : 'a recipient'}
                  </button>
                </span>
              )}
              {e.status === 'sealed' && (
                <button type="button" class="secondary" onClick={() => vaultApi.cancel(e.id).then(reload, setError)}>
                  Cancel entry for {e.recipients.map(nameOf).join(', ')}
                </button>
              )}
            </li>
          ))}
          {mine.length === 0 && <li class="empty">You have not written any entries.</li>}
        </ul>
      </section>
      <section class="card" aria-labelledby="v-for-h">
        <h2 id="v-for-h">Left for you</h2>
        <ul class="list">
          {forMe.map((e) => (
            <li key={e.id} class="notification">
              <span>
                From {nameOf(e.ownerMemberId)} <small>· {e.status === 'released' ? `released ${e.releasedAt ? fmtTime(e.releasedAt) : ''}` : e.status === 'sealed' ? `sealed; ${policyText(e.policy)}` : e.status}</small>
              </span>
              {e.status === 'sealed' &&
                e.policy.requestWaitDays !== null &&
                (e.requestedAt === null ? (
                  <span class="row">
                    <small>You may ask for it now: it opens {days(e.policy.requestWaitDays)} after you ask, unless {nameOf(e.ownerMemberId)} refuses.</small>
                    <button type="button" onClick={() => vaultApi.request(e.id).then(reload, setError)}>
                      Ask for release of entry from {nameOf(e.ownerMemberId)}
                    </button>
                  </span>
                ) : (
                  <small role="status">
                    {e.requestedBy === me ? 'You' : e.requestedBy ? nameOf(e.requestedBy) : 'Someone'} asked for it {fmtTime(e.requestedAt)}; it opens{' '}
                    {fmtTime(e.requestedAt + e.policy.requestWaitDays * 86_400_000)} unless {nameOf(e.ownerMemberId)} refuses.
                  </small>
                ))}
              {e.status === 'released' &&
                (opened[e.id] ? (
                  <article class="note" aria-label={opened[e.id]!.title}>
                    <h3>{opened[e.id]!.title}</h3>
                    <p class="vault-text">{opened[e.id]!.text}</p>
                  </article>
                ) : (
                  <button type="button" onClick={() => open(e)}>
                    Open entry from {nameOf(e.ownerMemberId)}
                  </button>
                ))}
            </li>
          ))}
          {forMe.length === 0 && <li class="empty">Nothing has been left for you (or its owner keeps it hidden until release).</li>}
        </ul>
      </section>
    </>
  );
}

function NewEntry({ data, onDone }: { data: Extract<Load, { state: 'ok' }>; onDone: () => void }) {
  const me = session()!.memberId;
  const candidates = data.members.filter((m) => m.id !== me && data.keys.some((k) => k.memberId === m.id));
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [to, setTo] = useState<string[]>([]);
  const [kind, setKind] = useState<'date' | 'inactivity' | 'request'>('date');
  const [wait, setWait] = useState('7');
  const [when, setWhen] = useState('');
  const [days, setDays] = useState('30');
  const [visible, setVisible] = useState(true);
  const { busy, error, setError, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (to.length === 0) return setError(new Error('Choose at least one member to leave it for.'));
    const at = new Date(when).getTime();
    if (kind === 'date' && !(at > Date.now())) return setError(new Error('Choose a time in the future.'));
    // The server wants an ISO time with an offset; the zone says how to show it.
    const policy: VaultPolicyInput =
      kind === 'date'
        ? { releaseAt: new Date(at).toISOString(), timezone: Intl.DateTimeFormat().resolvedOptions().timeZone }
        : kind === 'inactivity'
          ? { inactivityDays: Number(days) }
          : { requestWaitDays: Number(wait) };
    await run(async () => {
      const c = await crypto();
      const keyOf = (id: string) => ({ memberId: id, publicKey: data.keys.find((k) => k.memberId === id)!.publicKey });
      const sealed = await c.sealEntry({ content: { title, text }, owner: { memberId: me, publicKey: unlocked!.publicKey }, recipients: to.map(keyOf) });
      await vaultApi.create({ id: sealed.id, ciphertext: c.toB64(sealed.ciphertext), sealedKeys: sealed.sealedKeys, policy, recipientsSee: visible });
      setTitle('');
      setText('');
      setTo([]);
      onDone();
    });
  };
  return (
    <form class="card" aria-label="New vault entry" onSubmit={submit}>
      <h2>New entry</h2>
      <div class="field">
        <label for="v-title">Title</label>
        <input id="v-title" required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="v-text">Text</label>
        <textarea id="v-text" rows={5} required value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </div>
      <fieldset>
        <legend>Leave it for</legend>
        {candidates.map((m) => (
          <label key={m.id} class="check">
            <input type="checkbox" checked={to.includes(m.id)} onChange={(e) => setTo((t) => (e.currentTarget.checked ? [...t, m.id] : t.filter((x) => x !== m.id)))} />
            {m.displayName}
          </label>
        ))}
        {candidates.length === 0 && <p class="empty">No other member has set up their vault keys yet.</p>}
      </fieldset>
      <fieldset>
        <legend>When it opens</legend>
        <label class="check">
          <input type="radio" name="v-kind" checked={kind === 'date'} onChange={() => setKind('date')} /> On a date
        </label>
        <label class="check">
          <input type="radio" name="v-kind" checked={kind === 'inactivity'} onChange={() => setKind('inactivity')} /> If I stop checking in
        </label>
        <label class="check">
          <input type="radio" name="v-kind" checked={kind === 'request'} onChange={() => setKind('request')} /> When they ask for it (I can refuse)
        </label>
        {kind === 'request' ? (
          <div class="field">
            <label for="v-wait">Days to wait after they ask</label>
            <input id="v-wait" type="number" min={1} max={365} required value={wait} onInput={(e) => setWait(e.currentTarget.value)} />
          </div>
        ) : kind === 'date' ? (
          <div class="field">
            <label for="v-when">Opens at</label>
            <input id="v-when" type="datetime-local" required value={when} onInput={(e) => setWhen(e.currentTarget.value)} />
          </div>
        ) : (
          <div class="field">
            <label for="v-days">Days without a check-in</label>
            <input id="v-days" type="number" min={1} max={3650} required value={days} onInput={(e) => setDays(e.currentTarget.value)} />
          </div>
        )}
      </fieldset>
      <label class="check">
        <input type="checkbox" checked={visible} onChange={(e) => setVisible(e.currentTarget.checked)} /> Let them see that it exists before it opens
      </label>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Sealing…' : 'Seal entry'}
      </button>
    </form>
  );
}
