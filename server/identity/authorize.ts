import type { Decision } from '../../authz/index.js';
import { forbidden } from '../errors.js';

/** Turns an authz decision into the FORBIDDEN envelope. */
export function enforce(decision: Decision): void {
  if (!decision.allowed) throw forbidden(decision.reason);
}
