import { eq } from 'drizzle-orm';
import { devices, invites, members } from '../../storage/schema.js';
import { notFound } from '../errors.js';
import type { IdentityContext } from './context.js';

// For the server administrator at the CLI only, who acts across families and names a
// member or device by its globally unique id. HTTP routes never use these.

export function familyOfMember(ctx: IdentityContext, memberId: string): string {
  const row = ctx.storage.db.select({ familyId: members.familyId }).from(members).where(eq(members.id, memberId)).get();
  if (!row) throw notFound(`member ${memberId}`);
  return row.familyId;
}

export function familyOfDevice(ctx: IdentityContext, deviceId: string): string {
  const row = ctx.storage.db.select({ familyId: devices.familyId }).from(devices).where(eq(devices.id, deviceId)).get();
  if (!row) throw notFound(`device ${deviceId}`);
  return row.familyId;
}

export function familyOfInvite(ctx: IdentityContext, inviteId: string): string {
  const row = ctx.storage.db.select({ familyId: invites.familyId }).from(invites).where(eq(invites.id, inviteId)).get();
  if (!row) throw notFound(`invite ${inviteId}`);
  return row.familyId;
}
