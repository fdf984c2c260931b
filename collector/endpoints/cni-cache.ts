/**
 * The `cni-cache` endpoint source (work in progress: see the report).
 */
import type { CniCacheSourceConfig } from './config.js';
import type { EmitEvents, EmitNodes, EndpointSource, EndpointSourceHealth, Log } from './types.js';

export interface CniCacheSourceOptions extends Partial<Omit<CniCacheSourceConfig, 'type'>> {
  log?: Log;
  now?: () => number;
}

export class CniCacheSource implements EndpointSource {
  readonly name: string;
  constructor(readonly options: CniCacheSourceOptions = {}) {
    this.name = options.name ?? 'cni-cache';
  }
  async start(_emit: EmitEvents, _nodes?: EmitNodes): Promise<void> {
    throw new Error('cni-cache source: not implemented yet');
  }
  async stop(): Promise<void> {}
  health(): EndpointSourceHealth {
    return { ok: false, errors: 0, lastError: null };
  }
}
