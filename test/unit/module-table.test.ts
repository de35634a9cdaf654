// The module table (modules/table.ts) is the one place that names the protocol modules: the config is
// composed from its entries (sections, the embedded default's listeners), so a module is added by one
// entry and the server names no protocol.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateConfig } from '../../server/config.js';
import type { ModuleEntry } from '../../server/module.js';
import { MODULE_TABLE } from '../../modules/table.js';

describe('the module table', () => {
  it('gives the embedded default its listeners: POP3 110/995, IMAP 143/993, ManageSieve 4190, submission 587/465, in that order', () => {
    expect(validateConfig({}, null, MODULE_TABLE).listeners).toEqual([
      { name: 'pop3', module: 'pop', address: '::', port: 110, tls: 'none', proxyProtocol: false },
      { name: 'pop3s', module: 'pop', address: '::', port: 995, tls: 'implicit', proxyProtocol: false },
      { name: 'imap', module: 'imap', address: '::', port: 143, tls: 'none', proxyProtocol: false },
      { name: 'imaps', module: 'imap', address: '::', port: 993, tls: 'implicit', proxyProtocol: false },
      { name: 'sieve', module: 'managesieve', address: '::', port: 4190, tls: 'none', proxyProtocol: false },
      { name: 'submission', module: 'submission', address: '::', port: 587, tls: 'none', proxyProtocol: false },
      { name: 'submissions', module: 'submission', address: '::', port: 465, tls: 'implicit', proxyProtocol: false },
    ]);
    // a listener that names no module is served by the first entry's
    expect(validateConfig({ listeners: [{ name: 'a', port: 1 }] }, null, MODULE_TABLE).listeners[0].module).toBe('pop');
  });

  it('one more entry adds its section and its default listeners', () => {
    const finger: ModuleEntry = {
      name: 'finger',
      configSection: { key: 'finger', schema: z.strictObject({ maxUsers: z.number().default(20) }).prefault({}) },
      defaultListeners: [{ name: 'finger', port: 79, tls: 'none' }],
      load: () => Promise.reject(new Error('the config needs no module loaded')),
    };
    const config = validateConfig({ finger: { maxUsers: 5 } }, null, [...MODULE_TABLE, finger]);
    expect(config.sections.finger).toEqual({ maxUsers: 5 });
    expect(config.listeners.map((l) => `${l.name}:${l.module}:${l.port}`)).toEqual([
      'pop3:pop:110',
      'pop3s:pop:995',
      'imap:imap:143',
      'imaps:imap:993',
      'sieve:managesieve:4190',
      'submission:submission:587',
      'submissions:submission:465',
      'finger:finger:79',
    ]);
    expect(() => validateConfig({ finger: { maxUsers: 5 } }, null, MODULE_TABLE)).toThrow(/unknown key finger/);
  });
});
