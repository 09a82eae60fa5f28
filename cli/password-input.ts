import readline from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './output.js';

/**
 * Passwords come from stdin (scripts: `echo pw | hearth member add ...`) or an
 * interactive prompt that does not echo; never from argv, where `ps` and shell
 * history would keep them.
 */
export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (!line) throw new CliError('no password on stdin (pipe one in, or use --no-password for a device-only member)');
    return line;
  }
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      process.stderr.write(q);
      muted = true;
      rl.question('', (answer) => {
        muted = false;
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  try {
    const first = await ask(prompt);
    const second = await ask('again: ');
    if (first !== second) throw new CliError('passwords do not match');
    return first;
  } finally {
    rl.close();
  }
}
