/** A value with placeholders, pre-split at export time: literal text or a placeholder name (and its argument). */
import * as v from 'valibot';

export const TemplatePart = v.union([
  v.string(),
  v.object({ placeholder: v.string(), arg: v.optional(v.string()) }),
]);
export const Template = v.array(TemplatePart);
export type Template = v.InferOutput<typeof Template>;
