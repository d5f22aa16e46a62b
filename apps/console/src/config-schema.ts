import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils';
import { isRecord } from './api.js';

// The catalog's JSON Schemas, made ready for generated forms: the `$schema` marker goes (the form's
// validator only picks the alternative shown), untitled alternatives get a name, and free-form values
// (a schema of `{}`, such as an HTTP body) become a JSON text area.

export interface PreparedSchema {
  schema: RJSFSchema;
  uiSchema: UiSchema;
  /** Top-level fields typed as JSON text; parsed back before the workflow is sent. */
  jsonFields: string[];
}

type SchemaDefinition = NonNullable<RJSFSchema['anyOf']>[number];

function isSchemaDefinition(value: unknown): value is SchemaDefinition {
  return typeof value === 'boolean' || isRecord(value);
}

const HIDDEN_SUBMIT: UiSchema = { 'ui:submitButtonOptions': { norender: true } };

export function prepareSchema(raw: Record<string, unknown>): PreparedSchema {
  const { $schema: _ignored, ...rest } = raw;
  const schema: RJSFSchema = { ...rest };
  const uiSchema: UiSchema = { ...HIDDEN_SUBMIT };
  const jsonFields: string[] = [];
  if (Array.isArray(schema.anyOf))
    schema.anyOf = schema.anyOf.filter(isSchemaDefinition).map((option): SchemaDefinition => {
      if (!isRecord(option) || typeof option.title === 'string') return option;
      const required = Array.isArray(option.required) ? option.required.map(String) : [];
      return { ...option, title: required.length > 0 ? `By ${required.join(', ')}` : 'Other' };
    });
  if (isRecord(schema.properties)) {
    const properties: Record<string, SchemaDefinition> = {};
    for (const [key, value] of Object.entries(schema.properties)) {
      const freeForm =
        isRecord(value) && value.type === undefined && !value.anyOf && !value.oneOf && !value.enum;
      if (freeForm) {
        jsonFields.push(key);
        properties[key] = {
          type: 'string',
          title: key,
          description: 'JSON, or plain text; templates allowed',
        };
        uiSchema[key] = { 'ui:widget': 'textarea' };
      } else if (isSchemaDefinition(value)) {
        properties[key] = value;
        // Long text (a mail body, a message): several lines.
        if (isRecord(value) && value.type === 'string' && Number(value.maxLength ?? 0) >= 1000)
          uiSchema[key] = { 'ui:widget': 'textarea' };
      }
    }
    schema.properties = properties;
  }
  return { schema, uiSchema, jsonFields };
}

/** The form's data as the API takes it: JSON text fields parsed when they parse, empty strings dropped. */
export function configFromForm(formData: unknown, jsonFields: string[]): Record<string, unknown> {
  if (!isRecord(formData)) return {};
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(formData)) {
    if (value === undefined || value === '') continue;
    if (jsonFields.includes(key) && typeof value === 'string') {
      try {
        config[key] = JSON.parse(value);
      } catch {
        config[key] = value;
      }
    } else config[key] = value;
  }
  return config;
}

/** The server's issues under one config, as the form shows them next to its fields. */
export function errorSchemaOf(issues: { path: (string | number)[]; message: string }[]): ErrorSchema {
  const root: ErrorSchema = {};
  for (const { path, message } of issues) {
    let node: ErrorSchema = root;
    for (const part of path) {
      const key = String(part);
      const child: ErrorSchema = node[key] ?? {};
      node[key] = child;
      node = child;
    }
    node.__errors = [...(node.__errors ?? []), message];
  }
  return root;
}

/** Template references a trigger offers: `trigger.<field>` for each field of its output schema (one level deep). */
export function triggerFields(outputSchema: Record<string, unknown>): string[] {
  const fields: string[] = [];
  const walk = (schema: unknown, prefix: string, depth: number) => {
    if (!isRecord(schema) || !isRecord(schema.properties)) return;
    for (const [key, value] of Object.entries(schema.properties)) {
      const path = `${prefix}.${key}`;
      fields.push(path);
      if (depth < 1) walk(value, path, depth + 1);
    }
  };
  walk(outputSchema, 'trigger', 0);
  return fields;
}

/**
 * The value a template field takes in the trigger's sample (`trigger.subject` → "Quarterly numbers"), as
 * short text for a hint; undefined when the sample has none.
 */
export function sampleValue(sample: unknown, field: string, maxLength = 40): string | undefined {
  let value: unknown = sample;
  for (const key of field.split('.').slice(1)) {
    if (!isRecord(value)) return undefined;
    value = value[key];
  }
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
