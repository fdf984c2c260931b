/**
 * The `kubernetes` endpoint source (work in progress: see the report).
 */
import type { KubernetesSourceConfig } from './config.js';
import type { EmitEvents, EmitNodes, EndpointSource, EndpointSourceHealth, Log } from './types.js';

export interface KubernetesSourceOptions extends Partial<Omit<KubernetesSourceConfig, 'type' | 'backoff'>> {
  backoff?: { initialMs?: number; maxMs?: number };
  log?: Log;
  now?: () => number;
}

export class KubernetesSource implements EndpointSource {
  readonly name: string;
  constructor(readonly options: KubernetesSourceOptions = {}) {
    this.name = options.name ?? 'kubernetes';
  }
  async start(_emit: EmitEvents, _nodes?: EmitNodes): Promise<void> {
    throw new Error('kubernetes source: not implemented yet');
  }
  async stop(): Promise<void> {}
  health(): EndpointSourceHealth {
    return { ok: false, errors: 0, lastError: null };
  }
}
