// The role order and its rules live in authz/; re-exported for existing imports.
export { atLeast, canAssign, canManageMembers } from '../../authz/roles.js';
