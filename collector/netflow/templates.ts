/**
 * Templates and the per-(exporter, version, observation domain) state they live in.
 *
 * A template is kept as its wire description (field id, length, enterprise number) — what
 * is compared when an exporter re-sends it and what is persisted — and compiled into the
 * kinds and lengths `readRecord` walks. The same template id sent with a new layout
 * replaces the old one (counted as an update); an identical re-send changes nothing.
 */
import { fieldKind, Kind, VARIABLE } from './fields.js';
import { StreamSequence } from './sequence.js';

/** Fields one template may have (a longer one is refused: no record of it fits a datagram). */
export const MAX_TEMPLATE_FIELDS = 512;

/** [information element id, length (65535: variable), enterprise number (0: IANA)] */
export type FieldSpec = readonly [number, number, number];

export class Template {
  readonly kinds: Uint8Array;
  readonly lens: Uint16Array;
  /** the bytes of a record whose variable-length fields are all empty */
  readonly minLength: number;
  /** no variable-length field: every record is minLength long */
  readonly fixed: boolean;

  constructor(
    readonly id: number,
    /** an options template (its records describe the exporter: sampling, system init time) */
    readonly options: boolean,
    /** options templates: how many of the first fields are scope fields */
    readonly scopeCount: number,
    readonly fields: readonly FieldSpec[],
    /** 9 or 10: v9 options scope fields are of another type space, never read as IEs */
    readonly version: number,
  ) {
    const n = fields.length;
    this.kinds = new Uint8Array(n);
    this.lens = new Uint16Array(n);
    let min = 0;
    let fixed = true;
    for (let i = 0; i < n; i++) {
      const [ie, len, ent] = fields[i];
      const v9Scope = version === 9 && options && i < scopeCount;
      this.kinds[i] = v9Scope ? Kind.SKIP : fieldKind(ent !== 0, ie, len);
      this.lens[i] = len;
      if (len === VARIABLE) {
        fixed = false;
        min += 1;
      } else min += len;
    }
    this.minLength = min;
    this.fixed = fixed;
  }

  /** Same layout (a re-send, not an update). */
  sameAs(o: Template): boolean {
    if (o.options !== this.options || o.scopeCount !== this.scopeCount) return false;
    if (o.fields.length !== this.fields.length) return false;
    for (let i = 0; i < this.fields.length; i++) {
      const a = this.fields[i];
      const b = o.fields[i];
      if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) return false;
    }
    return true;
  }
}

/** Selector ids (302) share the samplers map with sampler ids (48), above every u32. */
export const SELECTOR_KEY_BASE = 2 ** 40;

/** One (exporter, version, observation domain / source id): its templates, sampling and sequence. */
export class DomainState {
  readonly templates = new Map<number, Template>();
  /** sampling rate of the whole domain (options data without a sampler/selector id); 0 unknown */
  defaultRate = 0;
  /** sampler id (48) or SELECTOR_KEY_BASE + selector id (302) → rate */
  readonly samplers = new Map<number, number>();
  /** systemInitTimeMilliseconds from options data (IPFIX 21/22 are relative to it); 0 unknown */
  systemInitMs = 0;
  /** the rate of the last flow record: what is in effect (metric) */
  rateInEffect = 0;
  readonly sequence = new StreamSequence();
  records = 0;

  constructor(
    readonly version: number,
    readonly domain: number,
  ) {}
}
