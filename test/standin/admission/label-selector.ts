// metav1.LabelSelector evaluation with apimachinery's semantics: matchLabels
// and matchExpressions are ANDed; an empty selector matches everything;
// NotIn and DoesNotExist match a missing key. A malformed selector is an
// error (the real server turns it into a 500), never a silent match.
import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Record<string, string>;

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** True when the selector has no requirement at all (nil is treated as {} the way defaulting stores it). */
export function isEmptySelector(s: V1LabelSelector | undefined): boolean {
  return (
    !s || (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0)
  );
}

/** Checks the selector the way metav1.LabelSelectorAsSelector does. */
export function checkSelector(s: V1LabelSelector | undefined): void {
  for (const e of s?.matchExpressions ?? []) {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          throw new SelectorError("for 'in', 'notin' operators, values set can't be empty");
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) {
          throw new SelectorError('values set must be empty for exists and does not exist');
        }
        break;
      default:
        throw new SelectorError(`"${e.operator}" is not a valid label selector operator`);
    }
  }
}

export function matchesSelector(s: V1LabelSelector | undefined, labels: Labels): boolean {
  checkSelector(s);
  if (!s) return true;
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key] as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key] as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
