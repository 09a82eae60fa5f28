import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, type ErrorDetail } from './errors.js';

/**
 * Every failure leaves as the SPEC's envelope. Unknown errors become INTERNAL_ERROR
 * with a fixed message: the stack and whatever the error carried go to the log only.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const appError = toAppError(err);
    if (appError.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: appError.code, status: appError.statusCode }, appError.message);
    if (appError.statusCode === 429 && 'retryAfterS' in appError) reply.header('retry-after', String(appError.retryAfterS));
    return reply.status(appError.statusCode).send(appError.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new AppError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toBody()),
  );
}

function toAppError(err: FastifyError | AppError): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new AppError('VALIDATION_FAILED', `request ${fe.validationContext ?? 'body'} is invalid`, validationDetails(fe));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('INVALID_PAYLOAD', 'request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content type; send application/json', [], 415);
  }
  if (err instanceof SyntaxError) return new AppError('INVALID_PAYLOAD', 'request body is not valid JSON');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 429) return new AppError('RATE_LIMITED', 'too many requests', [], 429);
    return new AppError('INVALID_PAYLOAD', fe.message, [], fe.statusCode);
  }
  return new AppError('INTERNAL_ERROR', 'internal error');
}

type AjvIssue = { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> };

/**
 * Ajv reports a union of literals (typebox's enums) as one "must be equal to constant"
 * per member plus "must match a schema in anyOf": folded into one line naming the
 * allowed values once.
 */
function validationDetails(fe: FastifyError): ErrorDetail[] {
  const context = fe.validationContext ?? 'body';
  const issues = fe.validation as AjvIssue[];
  const allowed = new Map<string, unknown[]>();
  for (const v of issues) {
    const path = v.instancePath ?? '';
    if (v.keyword === 'const') allowed.set(path, [...(allowed.get(path) ?? []), v.params?.allowedValue]);
    if (v.keyword === 'enum') allowed.set(path, [...(allowed.get(path) ?? []), ...((v.params?.allowedValues as unknown[]) ?? [])]);
  }
  const details: ErrorDetail[] = [];
  const done = new Set<string>();
  for (const v of issues) {
    const path = v.instancePath ?? '';
    const values = allowed.get(path);
    if (values && ['const', 'enum', 'anyOf'].includes(v.keyword ?? '')) {
      if (done.has(path)) continue;
      done.add(path);
      details.push({ path: `${context}${path}`, message: `must be one of: ${[...new Set(values)].map((x) => JSON.stringify(x)).join(', ')}` });
      continue;
    }
    details.push({ path: `${context}${path}`, message: v.message ?? 'invalid' });
  }
  return details;
}

/** Fastify's own routing errors (bad percent-encoding, over-long path parameters) in the envelope, without echoing the URL. */
export function frameworkError(err: FastifyError): AppError {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return new AppError('URI_TOO_LONG', 'a path segment of this URL is too long', [], 414);
  if (err.code === 'FST_ERR_BAD_URL') return new AppError('INVALID_PAYLOAD', 'the URL is not validly percent-encoded', [], 400);
  return new AppError('INVALID_PAYLOAD', 'bad request', [], 400);
}
