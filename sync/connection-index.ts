import type { Connection } from './connection.js';

/**
 * Open connections by device, member, family and document, so live enforcement
 * (revocation, role changes, overrides) and connection limits are lookups, not scans.
 */
export class ConnectionIndex {
  private readonly byDevice = new Map<string, Set<Connection>>();
  private readonly byMember = new Map<string, Set<Connection>>();
  private readonly familyCount = new Map<string, number>();
  readonly all = new Set<Connection>();

  add(conn: Connection): void {
    this.all.add(conn);
    addTo(this.byDevice, conn.principal.deviceId, conn);
    addTo(this.byMember, conn.principal.memberId, conn);
    const f = conn.principal.familyId;
    this.familyCount.set(f, (this.familyCount.get(f) ?? 0) + 1);
  }

  remove(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    removeFrom(this.byDevice, conn.principal.deviceId, conn);
    removeFrom(this.byMember, conn.principal.memberId, conn);
    const f = conn.principal.familyId;
    const n = (this.familyCount.get(f) ?? 1) - 1;
    if (n <= 0) this.familyCount.delete(f);
    else this.familyCount.set(f, n);
  }

  deviceCount(deviceId: string): number {
    return this.byDevice.get(deviceId)?.size ?? 0;
  }

  familyConnections(familyId: string): number {
    return this.familyCount.get(familyId) ?? 0;
  }

  ofDevice(deviceId: string): Connection[] {
    return [...(this.byDevice.get(deviceId) ?? [])];
  }

  ofMember(memberId: string): Connection[] {
    return [...(this.byMember.get(memberId) ?? [])];
  }
}

function addTo(map: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  s.add(conn);
}

function removeFrom(map: Map<string, Set<Connection>>, key: string, conn: Connection): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(conn);
  if (s.size === 0) map.delete(key);
}
