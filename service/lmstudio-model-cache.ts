/**
 * What the LM Studio client remembers about the model between calls: LM Studio's
 * `/api/v0/models` entry (whether it is loaded, its context), and the context an
 * overflow answer named.
 */
import type { NativeModelInfo } from './lmstudio-models.js';

/** How long LM Studio's answer about the model (context, loaded or not) is reused. */
const MODEL_INFO_CACHE_MS = 10_000;
/** How long a context length learned from an overflow answer is trusted. */
const LEARNED_CONTEXT_MS = 10 * 60_000;

/** null: LM Studio lists its models, but not this one; undefined: no such list (or no answer). */
type NativeEntry = NativeModelInfo | null | undefined;

/** LM Studio's `/api/v0/models` entry of the model, cached and single-flight. */
export class NativeModelCache {
  readonly #fetch: () => Promise<NativeEntry>;
  readonly #now: () => number;
  #entry: { value: NativeEntry; at: number } | undefined;
  #inFlight: Promise<NativeEntry> | undefined;

  constructor(fetch: () => Promise<NativeEntry>, now: () => number) {
    this.#fetch = fetch;
    this.#now = now;
  }

  async get(): Promise<NativeEntry> {
    const cached = this.#entry;
    if (cached && this.#now() - cached.at < MODEL_INFO_CACHE_MS) return cached.value;
    this.#inFlight ??= (async () => {
      const value = await this.#fetch();
      this.#entry = { value, at: this.#now() };
      return value;
    })().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** The call that made LM Studio load the model succeeded: the model is loaded now. */
  markLoaded(): void {
    const native = this.#entry?.value;
    if (native) this.#entry = { value: { ...native, state: 'loaded' }, at: this.#now() };
  }
}

/** The context an overflow answer named: the smallest one, trusted for LEARNED_CONTEXT_MS. */
export class LearnedContext {
  readonly #now: () => number;
  #learned: { tokens: number; at: number } | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The learned context, unless it is too old to trust. */
  get tokens(): number | undefined {
    return this.#expired() ? undefined : this.#learned?.tokens;
  }

  remember(tokens: number): void {
    const known = this.#learned;
    if (known === undefined || tokens < known.tokens || this.#expired()) {
      this.#learned = { tokens, at: this.#now() };
    }
  }

  #expired(): boolean {
    const learned = this.#learned;
    return learned === undefined || this.#now() - learned.at > LEARNED_CONTEXT_MS;
  }
}
