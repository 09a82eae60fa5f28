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
    const details: ErrorDetail[] = fe.validation.map((v) => ({
      path: `${fe.validationContext ?? 'body'}${v.instancePath || ''}`,
      message: v.message ?? 'invalid',
    }));
    return new AppError('VALIDATION_FAILED', `request ${fe.validationContext ?? 'body'} is invalid`, details);
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
