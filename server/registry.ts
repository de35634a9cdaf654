// The module registry: the kernel looks modules up here by the name a listener gives.
import type { ModuleEntry, PosternModule } from './module.js';

export class ModuleRegistry {
  private readonly modules = new Map<string, PosternModule>();

  /** A registry of every module of `entries` (the module table's and those from `modules:`), loaded now. */
  static async load(entries: readonly ModuleEntry[]): Promise<ModuleRegistry> {
    const registry = new ModuleRegistry();
    for (const module of await Promise.all(entries.map((e) => e.load()))) registry.register(module);
    return registry;
  }

  register(module: PosternModule): this {
    if (this.modules.has(module.name)) throw new Error(`module "${module.name}" is registered twice`);
    this.modules.set(module.name, module);
    return this;
  }

  get(name: string): PosternModule | undefined {
    return this.modules.get(name);
  }

  names(): string[] {
    return [...this.modules.keys()];
  }

  all(): PosternModule[] {
    return [...this.modules.values()];
  }
}
