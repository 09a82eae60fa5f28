import { Type } from 'typebox';
import { ID_PATTERN } from '../storage/ids.js';
import { DISPLAY_NAME_MAX, DISPLAY_NAME_PATTERN } from './identity/names.js';

// Shapes shared by routes and the OpenAPI document.

export const Id = Type.String({ pattern: ID_PATTERN, maxLength: 64 });
export const RoleSchema = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('adult'),
  Type.Literal('child'),
  Type.Literal('guest'),
]);
export const InviteRoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('adult'), Type.Literal('child'), Type.Literal('guest')]);
/** A display name: no control or bidi-override characters, not blank (identity/names.ts). */
export const Name = Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX, pattern: DISPLAY_NAME_PATTERN });
export const DeviceName = Name;

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Array(Type.Object({ path: Type.Optional(Type.String()), message: Type.String() })),
  }),
});

export const Family = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.Integer() });

export const Member = Type.Object({
  id: Type.String(),
  familyId: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.String(),
  role: Type.String(),
  createdAt: Type.Integer(),
  hasPassword: Type.Boolean(),
});

export const Device = Type.Object({
  id: Type.String(),
  familyId: Type.String(),
  memberId: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  createdAt: Type.Integer(),
  lastSeenAt: Type.Union([Type.Integer(), Type.Null()]),
  revokedAt: Type.Union([Type.Integer(), Type.Null()]),
});

export const SessionTokens = Type.Object({
  tokenType: Type.Literal('Bearer'),
  accessToken: Type.String(),
  expiresIn: Type.Integer(),
  refreshToken: Type.String(),
  familyId: Type.String(),
  memberId: Type.String(),
  deviceId: Type.String(),
  role: Type.String(),
});

export const Invite = Type.Object({
  id: Type.String(),
  familyId: Type.String(),
  role: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Integer(),
  expiresAt: Type.Integer(),
  usedAt: Type.Union([Type.Integer(), Type.Null()]),
  usedByMemberId: Type.Union([Type.String(), Type.Null()]),
});

/** Standard error responses to list on a route, so OpenAPI documents them. */
export function errors(...codes: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(codes.map((c) => [c, ErrorBody]));
}
