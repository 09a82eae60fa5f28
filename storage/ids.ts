import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Opaque ids like `fam_5k2m...`: the prefix tells a human what a pasted id is; 16
 * base32 chars (80 bits) make them unguessable. Only [a-z0-9_] so they are safe in
 * URLs and in `<familyId>/<docName>` room names.
 */
export function newId(prefix: 'fam' | 'mem' | 'dev' | 'rt' | 'pair' | 'pt' | 'inv' | string): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}_${out}`;
}

export const ID_PATTERN = '^[a-z]+_[0-9a-z]{16}$';
