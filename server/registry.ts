// The module registry: the kernel looks modules up here by the name a listener gives.
import type { ConfigSection } from './config.js';
import type { PosternModule } from './module.js';

export class ModuleRegistry {
  private readonly modules = new Map<string, PosternModule>();

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

  /** The modules' config sections, for loading the config. */
  sections(): ConfigSection[] {
    return this.all().flatMap((m) => (m.configSection ? [m.configSection] : []));
  }
}
