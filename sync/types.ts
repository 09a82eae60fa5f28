import type { Role } from '../storage/schema.js';
import type { DocAccess } from '../storage/documents-schema.js';

export type { Role, DocAccess };

/** Who is on the other end of a socket, as the lead's authenticate() established it. */
export interface Principal {
  familyId: string;
  memberId: string;
  deviceId: string;
  role: Role;
}
