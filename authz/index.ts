export { RANK, atLeast, canAssign, canManageMembers } from './roles.js';
export {
  MEMBER_ACTIONS,
  canActOnMember,
  canChangeRole,
  canCreateMemberWithRole,
  type AuthzActor,
  type AuthzTarget,
  type Decision,
  type MemberAction,
} from './member-actions.js';
