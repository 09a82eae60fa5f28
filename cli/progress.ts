import cliProgress from 'cli-progress';

/** What long CLI work (backup, export) reports as it goes. */
export interface ByteProgress {
  phase: string;
  bytes: number;
  totalBytes: number;
  files: number;
  totalFiles: number;
}

export const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

/** A bar on a terminal (bytes, files, rate, ETA), a line per phase otherwise, nothing with --json. */
export function byteReporter(json: boolean, verb: string) {
  if (json) return { update: (_p: ByteProgress) => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: '{phase} [{bar}] {percentage}% | {files}/{totalFiles} files | {mb} | {speed} | ETA {eta_formatted}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    const t0 = Date.now();
    return {
      update(p: ByteProgress) {
        if (!started) {
          bar.start(Math.max(1, p.totalBytes), 0);
          started = true;
        }
        const s = (Date.now() - t0) / 1000;
        bar.setTotal(Math.max(1, p.totalBytes));
        bar.update(p.bytes, { phase: p.phase.padEnd(9), files: p.files, totalFiles: p.totalFiles, mb: mb(p.bytes), speed: `${mb(p.bytes / Math.max(s, 0.001))}/s` });
      },
      stop: () => started && bar.stop(),
    };
  }
  let phase = '';
  return {
    update(p: ByteProgress) {
      if (p.phase === phase) return;
      phase = p.phase;
      process.stderr.write(`${verb}: ${p.phase}${p.totalFiles ? ` (${p.totalFiles} files, ${mb(p.totalBytes)})` : ''}\n`);
    },
    stop: () => {},
  };
}
