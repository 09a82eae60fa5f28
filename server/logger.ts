import pino, { type Logger } from 'pino';

/**
 * Every query value is redacted, whatever its name: tokens ride in query strings
 * (browsers cannot set WebSocket or <img> headers), and a list of secret names always
 * misses one (`refreshToken`, `userCode`, a percent-encoded `%74oken`...). Parameter
 * names stay, so a log still says which were sent.
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  if (q === -1) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      // A bare value (`?abc123`) may itself be the secret.
      return eq === -1 ? (pair ? '[redacted]' : pair) : `${pair.slice(0, Math.min(eq, 64))}=[redacted]`;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

/**
 * Structured JSON logs. Secrets never reach them: tokens in URLs are masked, and
 * headers and bodies that can carry credentials are redacted by path.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hearth' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.refreshToken',
          '*.accessToken',
          '*.deviceCode',
          '*.userCode',
          '*.oldPassword',
          '*.newPassword',
          '*.token',
          '*.code',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
