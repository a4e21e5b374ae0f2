// Odoo writes bus_bus.channel and bus_bus.message with Python's
// `json.dumps(value, separators=(',', ':'))`. Channels are matched by exact string, so the
// spelling matters: compact separators and, because `ensure_ascii` defaults to True, every
// non-ASCII UTF-16 unit escaped as a lowercase `\uXXXX` (astral characters as surrogate pairs,
// exactly as Python writes them).

const NON_ASCII = /[\u0080-\uffff]/g;

export function pythonJsonDumps(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`cannot store ${typeof value} as JSON`);
  return json.replace(NON_ASCII, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}
