// postern cert generate [--host NAME]: a new self-signed certificate in dataDir/certs/.
import type { Command } from 'commander';
import { fingerprint } from '../certs/self-signed.js';
import { writeSelfSigned } from '../certs/tls-provider.js';
import { certificateSettings } from '../server/config.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

export function certCommands(program: Command): void {
  const cert = program.command('cert').description('manage the TLS certificate');
  cert
    .command('generate')
    .description('write a new self-signed certificate and key (mode 0600) into dataDir/certs/; a running server picks it up on SIGHUP')
    .option(
      '--host <name>',
      "the host name clients connect to, first among the names (default: mainDomain; localhost, 127.0.0.1, ::1 and this machine's name " +
        'are always included)',
    )
    .action(async (opts: { host?: string }, cmd: Command) => {
      const ctx = await openContext(cmd.optsWithGlobals().config, { create: true });
      const host = opts.host ?? ctx.config.mainDomain;
      if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw new CliError(`--host: "${host}" is not a host name or IP address`, EXIT.usage);
      const { files, pem, names, kept } = await writeSelfSigned(certificateSettings(ctx.config), host);
      process.stdout.write(
        `certificate: ${files.cert}\nkey: ${files.key}\nhost: ${host}\nnames: ${names.join(', ')}\nSHA-256 ` +
          `fingerprint: ${fingerprint(pem.cert)}\n`,
      );
      if (kept) {
        process.stdout.write(`previous certificate kept as ${kept.cert} (key ${kept.key}), SHA-256 fingerprint ${kept.fingerprint}\n`);
        process.stderr.write(
          'postern: clients that pinned the previous certificate must trust the new one; a running server uses the new one after SIGHUP\n',
        );
      }
      if (ctx.config.tls.cert) {
        process.stderr.write(`postern: note: the config names tls.cert ${ctx.config.tls.cert}, so the server keeps using that one\n`);
      }
    });
}
