import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * vitest globalSetup: every temp dir of the run (test data dirs, archives, crash children's
 * dirs) lands under one root that goes when the run ends. Workers inherit TMPDIR; their own
 * exit hooks never run when vitest kills a worker, so this is where clean-up is certain.
 */
export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
