import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../server/logger.js';
import { api, startTestServer } from './helpers/hearth.js';

// Issue 16: query strings are redacted by default, not by a list of secret names.

describe('log redaction of query strings', () => {
  it('redacts every value, keeps the names', () => {
    expect(redactUrl('/v1/x?limit=5&refreshToken=abc&%72efreshToken=def&bare')).toBe('/v1/x?limit=[redacted]&refreshToken=[redacted]&%72efreshToken=[redacted]&[redacted]');
    expect(redactUrl('/health')).toBe('/health');
  });

  it('no secret-bearing parameter reaches the log, however it is spelled', async () => {
    const t = await startTestServer();
    try {
      const secrets = ['SECRETrefresh1', 'SECRETpassword2', 'SECRETdevice3', 'SECRETuser4', 'SECRETencoded5', 'SECRETbare6'];
      const query = `refreshToken=${secrets[0]}&password=${secrets[1]}&deviceCode=${secrets[2]}&userCode=${secrets[3]}&%72efresh%54oken=${secrets[4]}&${secrets[5]}`;
      for (const path of ['/health', '/v1/me', '/v1/families/fam_0000000000000000/media', '/nowhere']) await api(t.url, 'GET', `${path}?${query}`);
      await api(t.url, 'POST', `/v1/pair/token?${query}`, { body: { deviceCode: secrets[2] } });
      const text = t.logs.text();
      expect(text).toContain('refreshToken=[redacted]');
      for (const s of secrets) expect({ s, leaked: text.includes(s) }).toEqual({ s, leaked: false });
    } finally {
      await t.close();
      fs.rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
