/** The endpoint sources and the lifecycle, for `podwire all` and tests. */

export { CniCacheSource, type CniCacheSourceOptions } from './cni-cache.js';
export * from './config.js';
export { DemoAgent, type DemoAgentOptions, type DemoAgentStats } from './demo.js';
export { createEndpointSource, type SourceContext } from './factory.js';
export { FileSource, type FileSourceOptions } from './file.js';
export { KubernetesSource, type KubernetesSourceOptions } from './kubernetes.js';
export { LiveInventory, type LiveInventoryOptions, type LiveInventoryStats } from './live-inventory.js';
export { type CniTier, DEFAULT_CNI_TIERS, tierForRates } from './tiers.js';
export * from './types.js';
