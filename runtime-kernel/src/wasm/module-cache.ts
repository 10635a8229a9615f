import "./webassembly-api";
import { createHash } from "node:crypto";

/** A compiled module, held for a pool; release() when the pool is closed (more calls do nothing). */
export interface ModuleLease {
  readonly module: WebAssembly.Module;
  release(): void;
}

export interface ModuleCacheLimits {
  /** Modules no function uses that are kept for a re-install of the same bytes: at most this many... */
  readonly idleModules: number;
  /** ...and at most this many bytes of module source among them. */
  readonly idleBytes: number;
}

export interface ModuleCacheStats {
  /** Compilations so far (a hit or a compile already under way compiles nothing). */
  readonly compiles: number;
  /** Acquisitions answered by a module compiled before (or being compiled). */
  readonly hits: number;
  /** Modules held: in use, and idle within the limits. */
  readonly modules: number;
  /** Modules some pool holds. */
  readonly inUse: number;
  /** Source bytes of the idle modules. */
  readonly idleBytes: number;
}

interface Entry {
  readonly key: string;
  readonly size: number;
  readonly compiled: Promise<WebAssembly.Module>;
  /** Leases not yet released. */
  users: number;
}

export const defaultModuleCacheLimits: ModuleCacheLimits = { idleModules: 8, idleBytes: 64 * 1024 * 1024 };

/**
 * Compiled WebAssembly modules by the SHA-256 of their bytes (as compiled: after the
 * memory cap is written in), so the same bytes compile once however many pools,
 * re-installs and updates use them; a WebAssembly.Module is posted to each instance's
 * worker thread, which shares the compiled code. A module in use is always kept; one no
 * pool uses any more is kept for a re-install within the idle limits (least recently
 * released dropped first), and otherwise dropped. A failed compile is not kept.
 */
export class ModuleCache {
  private readonly entries = new Map<string, Entry>();
  /** The entries no pool uses, least recently released first. */
  private readonly idle = new Map<string, Entry>();
  private idleSize = 0;
  private compiles = 0;
  private hits = 0;

  constructor(private readonly limits: ModuleCacheLimits = defaultModuleCacheLimits) {}

  async acquire(bytes: Uint8Array): Promise<ModuleLease> {
    const key = createHash("sha256").update(bytes).digest("hex");
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.hits++;
      if (this.idle.delete(key)) this.idleSize -= entry.size;
    } else {
      this.compiles++;
      entry = { key, size: bytes.length, compiled: WebAssembly.compile(bytes), users: 0 };
      this.entries.set(key, entry);
      const added = entry;
      entry.compiled.catch(() => {
        // Not kept: the next install of these bytes compiles (and fails) again.
        if (this.entries.get(key) === added) this.entries.delete(key);
        if (this.idle.delete(key)) this.idleSize -= added.size;
      });
    }
    entry.users++;
    const held = entry;
    let module: WebAssembly.Module;
    try {
      module = await held.compiled;
    } catch (error) {
      held.users--;
      throw error;
    }
    let released = false;
    return {
      module,
      release: () => {
        if (released) return;
        released = true;
        this.release(held);
      },
    };
  }

  stats(): ModuleCacheStats {
    return { compiles: this.compiles, hits: this.hits, modules: this.entries.size, inUse: this.entries.size - this.idle.size, idleBytes: this.idleSize };
  }

  private release(entry: Entry): void {
    entry.users--;
    if (entry.users > 0 || this.entries.get(entry.key) !== entry) return;
    this.idle.set(entry.key, entry);
    this.idleSize += entry.size;
    for (const oldest of this.idle.values()) {
      if (this.idle.size <= this.limits.idleModules && this.idleSize <= this.limits.idleBytes) break;
      this.idle.delete(oldest.key);
      this.idleSize -= oldest.size;
      this.entries.delete(oldest.key);
    }
  }
}
