import fs from 'node:fs';
import path from 'node:path';

/** Every file under dir (absolute paths). */
export function walkFiles(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, ent.name);
      if (skip(path.relative(dir, abs))) continue;
      if (ent.isDirectory()) visit(abs);
      else if (ent.isFile()) out.push(abs);
    }
  };
  if (fs.existsSync(dir)) visit(dir);
  return out;
}

/** Offsets of tar entries: name -> offset of its data. */
export function tarEntries(buf: Buffer): Map<string, { data: number; size: number }> {
  const out = new Map<string, { data: number; size: number }>();
  let off = 0;
  while (off + 512 <= buf.length) {
    const head = buf.subarray(off, off + 512);
    if (head.every((b) => b === 0)) break;
    const name = head.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = head.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(head.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    out.set(prefix ? `${prefix}/${name}` : name, { data: off + 512, size });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
