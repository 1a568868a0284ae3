import { stringify } from 'yaml';

/** -o json / -o yaml of any object, as kubectl prints them (4-space JSON, block YAML). */
export function renderObject(obj: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(obj, null, 4)}\n` : stringify(obj, { lineWidth: 0 });
}
