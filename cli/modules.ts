// The protocol modules this build has, registered once: serve starts them, and every command loads
// the config with their sections (pop:).
import { ModuleRegistry } from '../modules/kernel/registry.js';
import { PopModule } from '../modules/pop/pop-module.js';

export function moduleRegistry(): ModuleRegistry {
  return new ModuleRegistry().register(new PopModule());
}
