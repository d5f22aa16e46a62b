import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/** The JSON Schema a client must send (`input`) or will receive (`output`) for a zod schema. */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether data of this schema can have a value at `path`. Open parts of a schema (no type, or
 * additional properties allowed) accept any deeper path: a webhook body can hold anything.
 */
export function schemaHasPath(schema: unknown, path: readonly string[]): boolean {
  if (schema === true) return true;
  if (!isSchema(schema)) return false;
  const [head, ...rest] = path;
  if (head === undefined) return true;
  for (const combinator of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[combinator];
    if (Array.isArray(branches)) return branches.some((branch) => schemaHasPath(branch, path));
  }
  const properties = schema.properties;
  if (isSchema(properties) && Object.hasOwn(properties, head)) return schemaHasPath(properties[head], rest);
  if (schema.type === 'array') return /^\d+$/.test(head) && schemaHasPath(schema.items ?? true, rest);
  const additional = schema.additionalProperties;
  if (schema.type === 'object' || properties !== undefined) {
    return additional !== undefined && additional !== false && schemaHasPath(additional, rest);
  }
  return schema.type === undefined;
}
