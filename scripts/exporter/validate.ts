/**
 * Validates a raw object against its kind's valibot schema. Problems name the field and the reason; fields the
 * schema does not know are warnings (a real API server would prune them), never silently used.
 */
import * as v from 'valibot';
import { BINDING_KINDS, IAM_GROUP, IAM_VERSION, ROLE_KINDS } from '../../worker/model/iam';
import { API_GROUP, SCHEMA_BY_KIND } from '../../worker/model/resources';

export type KnownKind = keyof typeof SCHEMA_BY_KIND;

export type Validation<T> = { ok: true; value: T; warnings: string[] } | { ok: false; problems: string[] };

/** The IAM kinds authorization reads (`iam.kubesphere.io/v1beta1`), and core Namespaces. */
export const IAM_KINDS = [...ROLE_KINDS, ...BINDING_KINDS, 'User'] as const;
export type IamKind = (typeof IAM_KINDS)[number] | 'Namespace';

export function iamKindOf(doc: Record<string, unknown>): IamKind | undefined {
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
  if (doc.kind === 'Namespace') return apiVersion === 'v1' ? 'Namespace' : undefined;
  if (apiVersion !== `${IAM_GROUP}/${IAM_VERSION}`) return undefined;
  return (IAM_KINDS as readonly unknown[]).includes(doc.kind) ? (doc.kind as IamKind) : undefined;
}

export function kindOf(doc: Record<string, unknown>): KnownKind | undefined {
  const kind = doc.kind;
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
  if (kind === 'ConfigMap' || kind === 'Secret') return apiVersion === 'v1' ? kind : undefined;
  if (kind === 'APIService' || kind === 'JSBundle' || kind === 'ReverseProxy') {
    return apiVersion.startsWith(`${API_GROUP}/`) ? kind : undefined;
  }
  return undefined;
}

export function nameOf(doc: Record<string, unknown>): string {
  const meta = doc.metadata as { name?: unknown } | undefined;
  return typeof meta?.name === 'string' && meta.name ? meta.name : '(unnamed)';
}

export function validate<K extends KnownKind>(kind: K, doc: unknown): Validation<v.InferOutput<(typeof SCHEMA_BY_KIND)[K]>> {
  const schema = SCHEMA_BY_KIND[kind];
  const result = v.safeParse(schema, doc);
  if (!result.success) {
    return { ok: false, problems: result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`) };
  }
  const warnings = unknownFields(schema as unknown as SchemaNode, doc, '').map((p) => `unknown field ${p} is ignored`);
  return { ok: true, value: result.output as v.InferOutput<(typeof SCHEMA_BY_KIND)[K]>, warnings };
}

interface SchemaNode {
  type: string;
  entries?: Record<string, SchemaNode>;
  wrapped?: SchemaNode;
  item?: SchemaNode;
  options?: SchemaNode[];
}

/** Dot paths of object keys in `value` that `schema` has no entry for. */
export function unknownFields(schema: SchemaNode, value: unknown, path: string): string[] {
  switch (schema.type) {
    case 'optional':
    case 'nullish':
      return value === undefined || value === null ? [] : unknownFields(schema.wrapped!, value, path);
    case 'array':
      return Array.isArray(value) ? value.flatMap((x, i) => unknownFields(schema.item!, x, `${path}[${i}]`)) : [];
    case 'union': {
      const fitting = schema.options!.find((o) => (o.type === 'array') === Array.isArray(value));
      return fitting ? unknownFields(fitting, value, path) : [];
    }
    case 'object': {
      if (typeof value !== 'object' || value === null) return [];
      const out: string[] = [];
      for (const [key, child] of Object.entries(value)) {
        const sub = path ? `${path}.${key}` : key;
        const entry = schema.entries![key];
        if (!entry) out.push(sub);
        else out.push(...unknownFields(entry, child, sub));
      }
      return out;
    }
    default:
      return [];
  }
}
