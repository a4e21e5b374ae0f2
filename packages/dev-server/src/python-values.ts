// How Odoo's Python code sees the JSON values a client sends: their type names (which end up in
// the error messages a client can read) and their truthiness (which decides `if value:` tests).

/** The name Python gives a JSON value's type, for error messages Odoo would produce. */
export function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  return Array.isArray(value) ? 'list' : 'dict';
}

/**
 * Python's `bool(value)` for a decoded JSON value: None, False, 0, '', [] and {} are false.
 * (JavaScript's truthiness differs on `[]` and `{}`, which Python counts as false.)
 */
export function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
