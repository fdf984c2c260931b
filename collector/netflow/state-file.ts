/**
 * The templates and sampling state persisted in the data directory, so that a restart
 * decodes at once instead of holding (or losing) data until every exporter re-sends its
 * templates. One small JSON file, written when something changed (the intake marks it
 * dirty; the engine saves at most once a tick and at stop) through a temporary file and
 * an atomic rename, read at start. A file that cannot be read or parsed is reported and
 * ignored: the templates then come from the exporters as they would without it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { ExporterTable } from './exporters.js';
import { type FieldSpec, Template } from './templates.js';

export const STATE_FILE = 'netflow-state.json';

const FieldSchema = z.tuple([
  z.number().int().min(0),
  z.number().int().min(1).max(65535),
  z.number().int().min(0),
]);
const StateSchema = z.object({
  format: z.literal(1),
  exporters: z.array(
    z.object({
      exporter: z.string(),
      domains: z.array(
        z.object({
          version: z.union([z.literal(5), z.literal(9), z.literal(10)]),
          domain: z.number().int().min(0),
          defaultRate: z.number().min(0),
          systemInitMs: z.number().min(0),
          samplers: z.array(z.tuple([z.number(), z.number().positive()])),
          templates: z.array(
            z.object({
              id: z.number().int().min(256).max(65535),
              options: z.boolean(),
              scopeCount: z.number().int().min(0),
              fields: z.array(FieldSchema).min(1),
            }),
          ),
        }),
      ),
    }),
  ),
});
type StateFile = z.infer<typeof StateSchema>;

export function serializeState(t: ExporterTable): StateFile {
  return {
    format: 1,
    exporters: t.all().map((e) => ({
      exporter: e.name,
      domains: [...e.domains.values()].map((d) => ({
        version: d.version as 5 | 9 | 10,
        domain: d.domain,
        defaultRate: d.defaultRate,
        systemInitMs: d.systemInitMs,
        samplers: [...d.samplers.entries()],
        templates: [...d.templates.values()].map((tp) => ({
          id: tp.id,
          options: tp.options,
          scopeCount: tp.scopeCount,
          fields: tp.fields.map((f) => [f[0], f[1], f[2]] as [number, number, number]),
        })),
      })),
    })),
  };
}

/** Writes the state atomically (a reader sees the old file or the new, never half). */
export function saveState(path: string, t: ExporterTable): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(serializeState(t)));
  renameSync(tmp, path);
}

/**
 * Loads the state into `t`. Returns the templates restored, or an error message (the file
 * is then ignored); a missing file is no error.
 */
export function loadState(path: string, t: ExporterTable): number | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    return `cannot read ${path}: ${(err as Error).message}`;
  }
  let parsed: StateFile;
  try {
    parsed = StateSchema.parse(JSON.parse(text));
  } catch (err) {
    return `ignoring ${path}: ${(err as Error).message.split('\n')[0]}`;
  }
  let n = 0;
  for (const x of parsed.exporters) {
    const e = t.restore(x.exporter);
    if (e === null) break;
    for (const dd of x.domains) {
      const d = e.domain(dd.version, dd.domain);
      d.defaultRate = dd.defaultRate;
      d.systemInitMs = dd.systemInitMs;
      for (const [k, v] of dd.samplers) d.samplers.set(k, v);
      for (const tp of dd.templates) {
        // IPFIX options templates have a scope field; v9 ones may have none
        if (tp.options && (tp.scopeCount > tp.fields.length || (dd.version === 10 && tp.scopeCount === 0)))
          continue;
        const tmpl = new Template(tp.id, tp.options, tp.scopeCount, tp.fields as FieldSpec[], dd.version);
        if (e.putTemplate(d, tmpl) === 'new') n++;
      }
    }
  }
  return n;
}
