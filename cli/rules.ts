/**
 * `podwire rules`: the Prometheus rule file and an example Alertmanager configuration for
 * the tiers and alert settings of a service config (`tiers:`, `alerts:`; the defaults
 * without one). The rules are built in alerts/.
 */
import { writeRules } from '../alerts/rule-file.js';
import { loadAllConfig, parseAllConfig } from './all-config.js';

export async function rules(o: { config?: string; out: string }): Promise<void> {
  const cfg = o.config === undefined ? parseAllConfig({}) : await loadAllConfig(o.config);
  const written = await writeRules(
    { tiers: cfg.tiers, alerts: cfg.alerts },
    o.out,
    o.config ?? 'the default tiers (the demo)',
  );
  for (const p of written) process.stdout.write(`${p}\n`);
}
