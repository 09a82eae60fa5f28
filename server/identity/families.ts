import { assertDisplayName } from './names.js';
import { eq, sql } from 'drizzle-orm';
import { families } from '../../storage/schema.js';
import { newId } from '../../storage/ids.js';
import { preparedPerDatabase } from '../../storage/prepared.js';
import { notFound } from '../errors.js';
import type { Actor, IdentityContext } from './context.js';
import { recordAudit } from '../../storage/audit.js';

export interface FamilyView {
  id: string;
  name: string;
  createdAt: number;
}

export function createFamily(ctx: IdentityContext, name: string, actor: Actor): FamilyView {
  assertDisplayName(name, '/name');
  const family = { id: newId('fam'), name, createdAt: Date.now() };
  ctx.storage.db.transaction((tx) => {
    tx.insert(families).values(family).run();
    recordAudit(tx, 'family.create', actor, { familyId: family.id, target: family.id, details: { name } });
  });
  return family;
}

export function listFamilies(ctx: IdentityContext): FamilyView[] {
  return ctx.storage.db.select().from(families).orderBy(families.createdAt).all();
}

export function findFamily(ctx: IdentityContext, familyId: string): FamilyView | undefined {
  return ctx.storage.db.select().from(families).where(eq(families.id, familyId)).get();
}

const familyById = preparedPerDatabase((db) =>
  db.select({ id: families.id }).from(families).where(eq(families.id, sql.placeholder('familyId'))).prepare(),
);

/** Checked on every sync upgrade. */
export function familyExists(ctx: IdentityContext, familyId: string): boolean {
  return familyById(ctx.storage.db).get({ familyId }) !== undefined;
}

export function getFamily(ctx: IdentityContext, familyId: string): FamilyView {
  const family = findFamily(ctx, familyId);
  if (!family) throw notFound('family');
  return family;
}

export function renameFamily(ctx: IdentityContext, familyId: string, name: string, actor: Actor): FamilyView {
  assertDisplayName(name, '/name');
  getFamily(ctx, familyId);
  ctx.storage.db.transaction((tx) => {
    tx.update(families).set({ name }).where(eq(families.id, familyId)).run();
    recordAudit(tx, 'family.rename', actor, { familyId, target: familyId, details: { name } });
  });
  return getFamily(ctx, familyId);
}
