import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;
type CompileRoute = (route: { schema: unknown; method: string; url: string; httpPart?: string }) => unknown;

/**
 * Query strings, path params and headers arrive as text, so they are coerced to the
 * schema's types ("?limit=5" becomes 5). JSON bodies are typed already: coercing them
 * would quietly accept {"name": 123} as "123" or {"approve": "false"} as false, where
 * the SPEC wants wrong types answered with VALIDATION_FAILED. So bodies get the same
 * Ajv options minus coercion. Both compilers come from fastify's own Ajv pool, so
 * shared schemas (addSchema) and formats work as before.
 */
export function strictBodyValidators(): BuildValidator {
  const pool = AjvCompiler();
  const build = ((externalSchemas: Record<string, unknown>, serverOptions: { customOptions?: Record<string, unknown>; plugins?: unknown[] } = {}) => {
    const coercing = pool(externalSchemas as never, serverOptions as never) as unknown as CompileRoute;
    const strict = pool(externalSchemas as never, {
      ...serverOptions,
      customOptions: { ...serverOptions.customOptions, coerceTypes: false },
    } as never) as unknown as CompileRoute;
    return (route: Parameters<CompileRoute>[0]) => (route.httpPart === 'body' ? strict(route) : coercing(route));
  }) as unknown as BuildValidator;
  return build;
}
