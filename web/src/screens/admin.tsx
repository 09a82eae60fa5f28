import { useState } from 'preact/hooks';
import QRCode from 'qrcode';
import type { InviteRole, Role } from '../../../client/index.js';
import { backupSummary } from '../lib/backup';
import { hearth, session } from '../api';
import { ErrorNote, Link, Unavailable, fmtTime, useLoad } from '../ui';
import { ApprovePairingScreen } from './auth';

const ROLES: Role[] = ['owner', 'admin', 'adult', 'child', 'guest'];
const isAdmin = () => ['owner', 'admin'].includes(session()?.role ?? '');

function Members() {
  const [members, reload] = useLoad(() => hearth.family.members.list());
  const [error, setError] = useState<unknown>(null);
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('adult');
  const [password, setPassword] = useState('');
  const act = (p: Promise<unknown>) => p.then(reload, setError);
  return (
    <section aria-labelledby="members-h" class="card">
      <h2 id="members-h">Members and roles</h2>
      <ErrorNote error={error} />
      {members.state === 'ok' && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Sign-in</th>
            </tr>
          </thead>
          <tbody>
            {members.value.map((m) => (
              <tr key={m.id}>
                <td>{m.displayName}</td>
                <td>
                  {isAdmin() && m.id !== session()!.memberId ? (
                    <select aria-label={`Role of ${m.displayName}`} value={m.role} onChange={(e) => act(hearth.family.members.setRole(m.id, e.currentTarget.value as Role))}>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td>{m.hasPassword ? 'password' : 'device only'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isAdmin() && (
        <form
          aria-label="Add a member"
          onSubmit={(e) => {
            e.preventDefault();
            act(hearth.family.members.add({ username, role, ...(password ? { password } : {}) }).then(() => {
              setUsername('');
              setPassword('');
            }));
          }}
        >
          <h3>Add a member</h3>
          <div class="row wrap">
            <div class="field">
              <label for="m-user">Username</label>
              <input id="m-user" value={username} required onInput={(e) => setUsername(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="m-role">Role</label>
              <select id="m-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
                {ROLES.slice(1).map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="m-pass">Password (optional)</label>
              <input id="m-pass" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </div>
          </div>
          <button type="submit">Add member</button>
        </form>
      )}
    </section>
  );
}

function Devices() {
  const [devices, reload] = useLoad(() => hearth.family.devices.list());
  const [error, setError] = useState<unknown>(null);
  return (
    <section aria-labelledby="devices-h" class="card">
      <h2 id="devices-h">Devices</h2>
      <ErrorNote error={error} />
      {devices.state === 'ok' && (
        <ul class="list">
          {devices.value.map((d) => (
            <li key={d.id}>
              <span>
                {d.name} <small>· {d.kind} · {d.revokedAt ? `revoked ${fmtTime(d.revokedAt)}` : d.lastSeenAt ? `seen ${fmtTime(d.lastSeenAt)}` : 'never seen'}{d.id === session()!.deviceId ? ' · this browser' : ''}</small>
              </span>
              {!d.revokedAt && d.id !== session()!.deviceId && (
                <button type="button" class="secondary" onClick={() => hearth.family.devices.revoke(d.id).then(reload, setError)}>
                  Revoke {d.name}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ApprovePairingScreen />
    </section>
  );
}

function Invites() {
  const [invites, reload] = useLoad(() => hearth.invites.list());
  const [role, setRole] = useState<InviteRole>('adult');
  const [made, setMade] = useState<{ link: string; qr: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const inv = await hearth.invites.create({ role });
      const link = `${location.origin}/join#${inv.code}`;
      setMade({ link, qr: await QRCode.toDataURL(link, { margin: 1, width: 200 }) });
      reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="invites-h" class="card">
      <h2 id="invites-h">Invites</h2>
      <ErrorNote error={error} />
      <form class="row" onSubmit={create} aria-label="New invite">
        <label for="inv-role">Invite as</label>
        <select id="inv-role" value={role} onChange={(e) => setRole(e.currentTarget.value as InviteRole)}>
          {ROLES.slice(1).map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button type="submit">Create invite</button>
      </form>
      {made && (
        <div class="invite">
          <img src={made.qr} width={200} height={200} alt="QR code of the invite link" />
          <p>
            Invite link (works once): <code>{made.link}</code>
          </p>
        </div>
      )}
      {invites.state === 'ok' && (
        <ul class="list">
          {invites.value.map((i) => (
            <li key={i.id}>
              <span>
                {i.role} <small>· {i.usedAt ? 'used' : `expires ${fmtTime(i.expiresAt)}`}</small>
              </span>
              {!i.usedAt && (
                <button type="button" class="secondary" onClick={() => hearth.invites.revoke(i.id).then(reload, setError)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Jobs() {
  const [jobs] = useLoad(() => hearth.jobs.list({ limit: 50 }));
  if (jobs.state === 'missing') return <Unavailable what="Jobs" />;
  return (
    <section aria-labelledby="jobs-h" class="card">
      <h2 id="jobs-h">Jobs</h2>
      {jobs.state === 'error' && <ErrorNote error={jobs.error} />}
      {jobs.state === 'ok' && (
        <ul class="list">
          {jobs.value.jobs.map((j, i) => (
            <li key={j.id}>
              <span>
                {j.kind} <small>· {j.status} · {fmtTime(j.runAt)}{j.lastError ? ` · ${j.lastError}` : ''}</small>
              </span>
            </li>
          ))}
          {jobs.value.jobs.length === 0 && <li class="empty">No jobs.</li>}
        </ul>
      )}
    </section>
  );
}

function Backup() {
  // 404: a hearth without backup status (yet) shows "unknown" rather than an error.
  const [b] = useLoad(() => hearth.backupStatus());
  const summary = b.state === 'ok' ? backupSummary(b.value, fmtTime) : b.state === 'missing' ? backupSummary(null, fmtTime) : null;
  return (
    <section aria-labelledby="backup-h" class="card" data-testid="backup-status">
      <h2 id="backup-h">Backups</h2>
      {b.state === 'loading' && <p>Loading…</p>}
      {b.state === 'error' && <ErrorNote error={b.error} />}
      {summary && (
        <div class={`backup ${summary.tone}`} role="status">
          <p class="headline">
            <span class={`badge ${summary.tone}`} aria-hidden="true">
              {summary.tone === 'ok' ? '✓' : summary.tone === 'unknown' ? '?' : '!'}
            </span>{' '}
            <strong>{summary.headline}</strong>
          </p>
          {summary.lines.map((l) => (
            <p key={l}>{l}</p>
          ))}
        </div>
      )}
    </section>
  );
}

export function AdminScreen() {
  if (!isAdmin()) {
    return (
      <section>
        <h1>Family</h1>
        <Members />
        <Devices />
      </section>
    );
  }
  return (
    <section aria-labelledby="admin-h">
      <h1 id="admin-h">Family admin</h1>
      <p>
        <Link href="/admin">Members</Link> · <a href="#devices-h">Devices</a> · <a href="#invites-h">Invites</a> · <a href="#jobs-h">Jobs</a> · <a href="#backup-h">Backups</a>
      </p>
      <Members />
      <Devices />
      <Invites />
      <Jobs />
      <Backup />
    </section>
  );
}
