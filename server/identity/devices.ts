import { and, eq } from 'drizzle-orm';
import { devices, type DeviceKind } from '../../storage/schema.js';
import { notFound } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';
import { canActOnMember } from '../../authz/index.js';
import { enforce } from './authorize.js';
import { getMember } from './members.js';
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

/** A member may revoke their own devices; owners and admins those of members they may act on (authz/). */
export function revokeDevice(ctx: IdentityContext, familyId: string, deviceId: string, actor: Actor): DeviceView {
  const device = getDevice(ctx, familyId, deviceId);
  const owner = getMember(ctx, familyId, device.memberId);
  enforce(canActOnMember(actor, { memberId: owner.id, role: owner.role }, 'revoke-device'));
  const changed = ctx.storage.db.transaction((tx) => {
    const did = revokeDeviceRow(tx, familyId, deviceId);
    if (did) recordAudit(tx, 'device.revoke', actor, { familyId, target: deviceId, details: { memberId: device.memberId } });
    return did;
  });
  if (changed) ctx.events.deviceRevoked(deviceId);
  return getDevice(ctx, familyId, deviceId);
}
