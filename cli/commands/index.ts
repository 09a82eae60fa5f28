import type { Command } from 'commander';
import { registerVersion } from './version.js';
import { registerServe } from './serve.js';
import { registerInit } from './init.js';
import { registerFamily } from './family.js';
import { registerMember } from './member.js';
import { registerDevice } from './device.js';
import { registerInvite } from './invite.js';
import { registerDoctor } from './doctor.js';
import { registerBackup } from './backup.js';
import { registerJobs } from './jobs.js';
import { registerAudit } from './audit.js';

/** Every subcommand registers itself here; one module per command group. */
export function registerCommands(program: Command): void {
  registerServe(program);
  registerInit(program);
  registerFamily(program);
  registerMember(program);
  registerDevice(program);
  registerInvite(program);
  registerDoctor(program);
  registerBackup(program);
  registerJobs(program);
  registerAudit(program);
  registerVersion(program);
}
