/** `podwire all`: every part in one process on one store (what `npm start` runs). */
import type { RoleDefinition } from './types.js';

export const all: RoleDefinition = {
  parts: { nic: true, sla: true, mirror: true, api: true },
  sections: null,
  mirrors: null,
  opensStore: () => true,
};
