import os from 'node:os';

/** The address a phone on the home network can reach: the first non-internal IPv4. */
export function lanUrl(port: number): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return `http://${a.address}:${port}`;
  }
  return `http://127.0.0.1:${port}`;
}
