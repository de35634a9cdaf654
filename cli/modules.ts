// The protocol modules this build has: every command loads the config with their sections (pop:, imap:, lmtp:),
// and serve starts the modules themselves (loaded only then: they bring the whole server).
import type { ConfigSection } from '../server/config.js';
import type { ModuleRegistry } from '../server/registry.js';
import { imapConfigSection } from '../modules/imap/config.js';
import { lmtpConfigSection } from '../modules/lmtp/config.js';
import { popConfigSection } from '../modules/pop/config.js';

export function configSections(): ConfigSection[] {
  return [popConfigSection, imapConfigSection, lmtpConfigSection];
}

export async function moduleRegistry(): Promise<ModuleRegistry> {
  const [{ ModuleRegistry }, { PopModule }, { ImapModule }, { LmtpModule }] = await Promise.all([
    import('../server/registry.js'),
    import('../modules/pop/pop-module.js'),
    import('../modules/imap/imap-module.js'),
    import('../modules/lmtp/lmtp-module.js'),
  ]);
  return new ModuleRegistry().register(new PopModule()).register(new ImapModule()).register(new LmtpModule());
}
