/**
 * `createEndpointSource(config)`: an endpoint source from its validated options (or from raw
 * JSON, validated here: an EndpointConfigError names each bad field by path). The Kubernetes
 * source is loaded only when one is configured: its client takes ~0.7 s to import.
 */
import { CniCacheSource } from './cni-cache.js';
import {
  type EndpointSourceConfig,
  type EndpointSourceConfigInput,
  parseEndpointSourceConfig,
} from './config.js';
import { DemoAgent } from './demo.js';
import { FileSource } from './file.js';
import type { EndpointSource, Log } from './types.js';

export interface SourceContext {
  log?: Log;
  /** µs since the epoch (default the wall clock) */
  now?: () => number;
}

export async function createEndpointSource(
  config: EndpointSourceConfig | EndpointSourceConfigInput,
  ctx: SourceContext = {},
): Promise<EndpointSource> {
  const c = parseEndpointSourceConfig(config);
  switch (c.type) {
    case 'file':
      return new FileSource({ ...c, ...ctx });
    case 'kubernetes': {
      const { KubernetesSource } = await import('./kubernetes.js');
      return new KubernetesSource({ ...c, ...ctx });
    }
    case 'cni-cache':
      return new CniCacheSource({ ...c, ...ctx });
    case 'demo': {
      const { start, ...rest } = c;
      return new DemoAgent({ ...rest, ...(start ? { startUs: Date.parse(start) * 1000 } : {}), ...ctx });
    }
  }
}
