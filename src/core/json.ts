// The shape of a parsed JSON (or YAML) value, which `typeof` alone can't tell: an object with fields.

/** Whether `value` is an object with fields: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
