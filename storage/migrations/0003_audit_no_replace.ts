/**
 * INSERT OR REPLACE deletes the conflicting row without firing DELETE triggers (unless
 * recursive_triggers is on), which would let anyone with SQL access rewrite an audit
 * event. Refuse any insert that reuses an existing id.
 */
export const sql = `
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
`;
