// The real hearth server in its own process, for the media kill -9 test: run with
// `process.execPath` on the built dist/ code. Seeds one family and member on first start,
// prints "READY <url> <familyId> <accessToken>". Killed with SIGKILL by the test.
// usage: node media-crash-server.mjs <dataDir>
import { OWNER, startSeededServer } from './crash-child.mjs';

const [dataDir] = process.argv.slice(2);
const { server, seed } = await startSeededServer(dataDir, { adminSocket: false });
const res = await fetch(`${server.url}/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ familyId: seed.familyId, username: OWNER.username, password: OWNER.password, deviceName: 'crash test' }),
});
const { accessToken } = await res.json();
process.stdout.write(`READY ${server.url} ${seed.familyId} ${accessToken}\n`);
