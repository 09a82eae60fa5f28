/**
 * Erasure (GDPR) must not leave an erased member's id, username or device ids in the
 * audit trail, yet the trail stays append-only for everything else. The update trigger
 * now lets through one kind of change only: while the gate row is open (erasure opens
 * and closes it inside its own transaction, so no other statement ever sees it open),
 * the actor, target and details columns may be rewritten to a pseudonym. Rows are never
 * deleted, and time, family, action, ip and request id never change.
 */
export const sql = `
CREATE TABLE audit_erasure_gate (open INTEGER NOT NULL CHECK (open IN (0, 1)));
INSERT INTO audit_erasure_gate (open) VALUES (0);
CREATE TRIGGER audit_erasure_gate_one_row BEFORE INSERT ON audit_erasure_gate
BEGIN SELECT RAISE(ABORT, 'audit_erasure_gate holds one row'); END;
CREATE TRIGGER audit_erasure_gate_keep BEFORE DELETE ON audit_erasure_gate
BEGIN SELECT RAISE(ABORT, 'audit_erasure_gate holds one row'); END;

DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN (SELECT open FROM audit_erasure_gate) IS NOT 1
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.family_id IS NOT OLD.family_id
  OR NEW.action IS NOT OLD.action OR NEW.ip IS NOT OLD.ip OR NEW.request_id IS NOT OLD.request_id
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
`;
