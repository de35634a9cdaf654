// The protocol modules of this build: the one place that names them. Adding a module is one entry here:
// its name (what a listener's `module` says), its config section, its listeners in the embedded default
// config, and a loader. The loader imports the module itself only when a server starts: the other
// commands (`postern deliver`, which an MTA runs for every message) read the config, and so the
// sections, without loading a protocol. The first entry serves a listener that names no module.
import type { ModuleEntry } from '../server/module.js';
import { authConfigSection } from './auth/config.js';
import { imapConfigSection, imapDefaultListeners } from './imap/config.js';
import { lmtpConfigSection } from './lmtp/config.js';
import { managesieveConfigSection, managesieveDefaultListeners } from './managesieve/config.js';
import { popConfigSection, popDefaultListeners } from './pop/config.js';
import { submissionDefaultListeners, submissionServiceSection } from './submission/config.js';

export const MODULE_TABLE: readonly ModuleEntry[] = [
  {
    name: 'pop',
    configSection: popConfigSection,
    defaultListeners: popDefaultListeners,
    load: async () => new (await import('./pop/pop-module.js')).PopModule(),
  },
  {
    name: 'imap',
    configSection: imapConfigSection,
    defaultListeners: imapDefaultListeners,
    load: async () => new (await import('./imap/imap-module.js')).ImapModule(),
  },
  // no default listener: LMTP listens where the MTA is told to deliver (a port or a unix socket)
  { name: 'lmtp', configSection: lmtpConfigSection, load: async () => new (await import('./lmtp/lmtp-module.js')).LmtpModule() },
  {
    name: 'managesieve',
    configSection: managesieveConfigSection,
    defaultListeners: managesieveDefaultListeners,
    load: async () => new (await import('./managesieve/managesieve-module.js')).ManageSieveModule(),
  },
  {
    name: 'submission',
    configSection: submissionServiceSection,
    defaultListeners: submissionDefaultListeners,
    load: async () => new (await import('./submission/submission-module.js')).SubmissionModule(),
  },
  // no default listener: the auth socket is where the MTA is told to look (smtpd_sasl_path)
  { name: 'auth', configSection: authConfigSection, load: async () => new (await import('./auth/auth-module.js')).AuthModule() },
];
