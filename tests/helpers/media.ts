import { createHash } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import sharp from 'sharp';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function uploadRaw(url: string, familyId: string, token: string, bytes: Buffer, name = 'file.bin') {
  const res = await fetch(`${url}/v1/families/${familyId}/media`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'x-hearth-filename': encodeURIComponent(name) },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

export async function uploadMultipart(url: string, familyId: string, token: string, bytes: Buffer, name = 'file.bin') {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  const res = await fetch(`${url}/v1/families/${familyId}/media`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

export async function getBytes(url: string, path: string, token?: string, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/** Starts a raw upload that declares `total` bytes, sends `sent` of them and keeps the socket open. */
export function partialUpload(url: string, familyId: string, token: string, total: number, sent: number) {
  const u = new URL(`${url}/v1/families/${familyId}/media`);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(total) },
  });
  const response = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
  });
  req.write(Buffer.alloc(sent, 7));
  return { req, response, abort: () => req.destroy() };
}

/** A photo whose pixels are stored sideways with EXIF orientation 6, a capture date and a GPS position. */
export async function rotatedJpegWithGps(): Promise<Buffer> {
  // Stored 400x200: left half red, right half blue. Displayed (rotated 90° clockwise): 200x400, red on top.
  const left = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#ff0000' } }).png().toBuffer();
  return sharp({ create: { width: 400, height: 200, channels: 3, background: '#0000ff' } })
    .composite([{ input: left, left: 0, top: 0 }])
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'HearthCam', Orientation: '6' },
      IFD2: { DateTimeOriginal: '2021:06:15 10:30:00' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
    })
    .toBuffer();
}

export async function noiseJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < raw.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    raw[i] = (x >>> 16) & 0xff;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid 1-bit grayscale PNG of width x height, all black: tiny on disk, huge when decoded. */
export function pixelBombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const rowBytes = 1 + Math.ceil(width / 8);
  const raw = Buffer.alloc(rowBytes * height); // filter 0, all zero
  const idat = zlib.deflateSync(raw, { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** A multipart upload that sends its part headers and `sent` bytes of the file, then waits (abort() to cut it). */
export function partialMultipart(url: string, familyId: string, token: string, sent: number) {
  const u = new URL(`${url}/v1/families/${familyId}/media`);
  const boundary = 'hearthboundary0123456789';
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
  });
  req.on('error', () => {});
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  req.write(Buffer.alloc(sent, 9));
  return { req, abort: () => req.destroy() };
}
