import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultServiceError } from './errors.js';

/**
 * Streams an upload into `temp` (created exclusively, 0600, fsync'd before it reports
 * done) and counts and hashes it on the way; never holds more than a chunk. `onChunk`
 * may throw to stop it (limit, quota): the error rejects the promise and the caller
 * unlinks the temp file.
 */
export async function receiveBlob(source: Readable, temp: string, onChunk: (received: number, chunk: number) => void): Promise<{ bytes: number; sha256: string }> {
  let received = 0;
  const hash = crypto.createHash('sha256');
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      try {
        onChunk(received, chunk.length);
      } catch (err) {
        return done(err as Error);
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, fs.createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
  } catch (err) {
    if (err instanceof VaultServiceError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || (err as Error).message === 'aborted') {
      throw new VaultServiceError('UPLOAD_ABORTED', 'the upload was interrupted');
    }
    throw err;
  }
  return { bytes: received, sha256: hash.digest('hex') };
}
