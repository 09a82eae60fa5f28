import type { FastifyInstance } from 'fastify';
import { AppError } from './errors.js';

/**
 * Fastify's JSON parser refuses `__proto__` and `constructor` keys (good) but reports
 * them as "not valid JSON" (wrong: the body is JSON, with a key no route accepts). Such
 * a body gets VALIDATION_FAILED naming the key; everything else is fastify's parser.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err: Error | null, value?: unknown) => {
      if (err && (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        const key = forbiddenKey(body as string);
        if (key) return done(new AppError('VALIDATION_FAILED', 'request body is invalid', [{ path: `body/${key}`, message: 'unknown key' }]), undefined);
      }
      done(err, value);
    });
  });
}

function forbiddenKey(text: string): string | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  return /"constructor"\s*:/.test(text) && !/"__proto__"\s*:/.test(text) ? 'constructor' : '__proto__';
}
