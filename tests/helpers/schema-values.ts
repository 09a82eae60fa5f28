/** A value a JSON schema accepts (good enough for the shapes routes use). */
export type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  pattern?: string;
  default?: unknown;
};

export function validValue(s: JsonSchema): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.default !== undefined) return s.default;
  if (s.anyOf) return validValue(s.anyOf.find((o) => o.type !== 'null') ?? s.anyOf[0]!);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((o) => validValue(o)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) out[key] = validValue(s.properties![key]!);
      return out;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (s.pattern === '^[a-z]+_[0-9a-z]{16}$') return 'zz_0000000000000000';
      return 'valid-value'.padEnd(s.minLength ?? 0, 'x').slice(0, s.maxLength ?? 100);
    default:
      return null;
  }
}
