import { and, eq } from 'drizzle-orm';
import { devices, type DeviceKind } from '../../storage/schema.js';
import { forbidden, notFound } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { canManageMembers } from './roles.js';
import { revokeDeviceRow } from './sessions.js';

export interface DeviceView {
  id: string;
  familyId: string;
  memberId: string;
  name: string;
  kind: DeviceKind;
  createdAt: number;
  lastSeenAt: number | null;
  revokedAt: number | null;
}

export function listDevices(ctx: IdentityContext, familyId: string, memberId?: string): DeviceView[] {
  const where = memberId
    ? and(eq(devices.familyId, familyId), eq(devices.memberId, memberId))
    : eq(devices.familyId, familyId);
  return ctx.storage.db.select().from(devices).where(where).orderBy(devices.createdAt).all();
}

export function getDevice(ctx: IdentityContext, familyId: string, deviceId: string): DeviceView {
  const device = ctx.storage.db
    .select()
    .from(devices)
    .where(and(eq(devices.familyId, familyId), eq(devices.id, deviceId)))
    .get();
  if (!device) throw notFound('device');
  return device;
}

/** A member may revoke their own devices; owners and admins any device of the family. */
export function revokeDevice(ctx: IdentityContext, familyId: string, deviceId: string, actor: Actor): DeviceView {
  const device = getDevice(ctx, familyId, deviceId);
  if (device.memberId !== actor.memberId && !canManageMembers(actor.role)) {
    throw forbidden('only owners and admins revoke other members’ devices');
  }
  const changed = ctx.storage.db.transaction((tx) => {
    const did = revokeDeviceRow(tx, familyId, deviceId);
    if (did) recordAudit(tx, 'device.revoke', actor, { familyId, target: deviceId, details: { memberId: device.memberId } });
    return did;
  });
  if (changed) ctx.events.deviceRevoked(deviceId);
  return getDevice(ctx, familyId, deviceId);
}
