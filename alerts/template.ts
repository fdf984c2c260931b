/**
 * Alert annotation templates as Prometheus expands them, for the subset the rules use:
 * `{{ $labels.NAME }}` and `{{ $value }}` piped to `humanize` or `humanizePercentage`
 * (Go's `%.4g` with SI prefixes). Anything else is refused when the rules are built, so a
 * template the in-process evaluator cannot expand exactly never reaches a rule file.
 */

const ACTION = /\{\{\s*(.*?)\s*\}\}/g;
const LABEL = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$/;
// a bare $value is left out on purpose: Go prints floats in its own shortest form
const VALUE = /^\$value\s*\|\s*(humanize|humanizePercentage)$/;

/** Go's fmt `%.4g`: 4 significant digits, trailing zeros dropped, exponent when < 1e-4 or ≥ 1e4. */
export function formatG4(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expText] = v.toExponential(3).split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 4) {
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, 3 - exp));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** Prometheus's `humanize`: SI prefixes (k, M, G, … and m, u, n, …) with `%.4g`. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return `${formatG4(v)}${prefix}`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG4(v)}${prefix}`;
}

export const humanizePercentage = (v: number) => `${formatG4(v * 100)}%`;

/** Throws unless every action of the template is one this module expands. */
export function checkTemplate(text: string): void {
  for (const m of text.matchAll(ACTION)) {
    if (!LABEL.test(m[1]) && !VALUE.test(m[1])) {
      throw new Error(`template action {{ ${m[1]} }} is not supported (alerts/template.ts): ${text}`);
    }
  }
}

/** The template with `labels` and `value` filled in; a label not present expands to ''. */
export function expand(text: string, labels: Readonly<Record<string, string>>, value: number): string {
  return text.replace(ACTION, (_all, action: string) => {
    const l = LABEL.exec(action);
    if (l) return labels[l[1]] ?? '';
    const v = VALUE.exec(action);
    if (!v) throw new Error(`template action {{ ${action} }} is not supported`);
    return v[1] === 'humanize' ? humanize(value) : humanizePercentage(value);
  });
}
