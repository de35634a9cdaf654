// Sieve at delivery (RFC 5228), for one recipient at a time, before the message is stored: the site's
// `sieve.before` scripts, the account's active script, the site's `sieve.after` scripts run in sequence in
// the run pool (sieve/run-pool.ts), and their outcome carried out (sieve-actions.ts). Never lose mail: a
// script that does not compile stops the sequence there (as Pigeonhole), a run that fails or passes a limit
// comes to the keep into INBOX, each with a log record naming the account, the script and the reason.
// An account without a script, or `sieve.enabled: false`, runs nothing: the delivery stores as before.
import { hostname } from 'node:os';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { SieveSettings } from '../sieve/config.js';
import type { SieveOutcome, SieveRunInput } from '../sieve/outcome.js';
import { failedOutcome, SieveRunPool, type SieveRunStop } from '../sieve/run-pool.js';
import type { MailStore } from '../store/contract.js';
import { DeliveryError } from './delivery-error.js';
import { type CarriedOut, carryOut, type OutgoingMail } from './sieve-actions.js';
import { type ReadyScript, safeScriptName, ScriptCompiler, scriptInFolder, SiteScripts } from './sieve-scripts.js';
import { resolve } from 'node:path';

export interface SieveFilterOptions {
  readonly store: MailStore;
  readonly settings: SieveSettings;
  /** Where relative script paths are taken from (the config file's folder). */
  readonly baseDir: string;
  /** submission.relay (redirect, vacation, reject); null when none is configured. */
  readonly relay: OutgoingMail | null;
  readonly logger: Logger;
  /** The module context's metrics (postern_sieve_*); null in `postern deliver`. */
  readonly metrics: Metrics | null;
  readonly mainDomain: string;
  /** Over quota is temporary (quota.fullTempfail). */
  readonly fullTempfail?: boolean;
}

/** One delivery to filter. */
export interface FilterInput {
  readonly account: AccountAddress;
  /** RCPT TO as the MTA gave it. */
  readonly recipient: string;
  /** The envelope sender; "" for the null sender. */
  readonly envelopeFrom: string;
  /** The message as it will be stored. */
  readonly message: Buffer;
  /** Where a keep goes (INBOX, or `postern deliver --mailbox`). */
  readonly defaultMailbox: string;
  /** Fields every log record of this delivery carries (the module's tag, the connection). */
  readonly logFields: Record<string, unknown>;
}

// One pool and one compiled-script cache per process, kept across reloads (the cache is keyed by content).
let sharedPool: SieveRunPool | null = null;
const sharedCompiler = new ScriptCompiler();

/** The process's run pool (made when first needed). */
export function sievePool(): SieveRunPool {
  sharedPool ??= new SieveRunPool();
  return sharedPool;
}

/** True when a script of the sequence (or one it includes) can read the mailbox list: it requires "mailbox". */
export function needsMailboxList(scripts: readonly ReadyScript[]): boolean {
  return scripts.some(
    (s) =>
      s.compiled !== null &&
      (s.compiled.requires.includes('mailbox') || Object.values(s.compiled.included).some((i) => i?.requires.includes('mailbox'))),
  );
}

type RunLabel = 'ok' | 'run-error' | 'compile-error' | 'cpu-limit' | 'memory-limit' | 'crash';

function label(stopped: SieveRunStop, outcome: SieveOutcome): RunLabel {
  if (stopped === 'time') return 'cpu-limit';
  if (stopped === 'memory') return 'memory-limit';
  if (stopped === 'crash') return 'crash';
  return outcome.error === null ? 'ok' : 'run-error';
}

export class SieveFilter {
  private readonly site: Promise<SiteScripts>;
  private readonly runs: { inc(labels: { outcome: string }): void } | null;
  private readonly actions: { inc(labels: { action: string }): void } | null;
  private readonly host = hostname();

  constructor(private readonly options: SieveFilterOptions) {
    const { settings, baseDir, logger } = options;
    this.site = settings.enabled
      ? SiteScripts.load(settings, baseDir, sharedCompiler).catch((err: Error) => {
          logger.error({ tag: 'Sieve', err: err.message }, 'cannot read the site scripts (sieve.before, sieve.after)');
          return SiteScripts.none;
        })
      : Promise.resolve(SiteScripts.none);
    this.runs = options.metrics?.counter('postern_sieve_runs_total', 'Sieve runs at delivery, by how they ended', ['outcome']) ?? null;
    this.actions =
      options.metrics?.counter('postern_sieve_actions_total', 'What Sieve runs did with the messages, by action', ['action']) ?? null;
  }

  get enabled(): boolean {
    return this.options.settings.enabled;
  }

  /** The site scripts once read; what could not be read or compiled is logged (at start and reload). */
  async ready(): Promise<void> {
    const site = await this.site;
    for (const problem of site.problems) this.options.logger.error({ tag: 'Sieve' }, problem);
  }

  /**
   * The scripts to run for the account, in order; empty when there is nothing to run (then the delivery stores
   * as it would without Sieve). Scripts that cannot be read now are a temporary failure (the MTA tries again),
   * as Pigeonhole's "temporarily unable to access necessary Sieve scripts".
   */
  async scriptsFor(account: AccountAddress): Promise<ReadyScript[]> {
    if (!this.options.settings.enabled) return [];
    const site = await this.site;
    const scripts = this.options.store.sieveScripts(account);
    let active: { name: string; content: Buffer } | null = null;
    try {
      active = await scripts.active();
    } catch (err) {
      this.options.logger.error(
        { tag: 'Sieve', account: formatAddress(account), err: (err as Error).message },
        'cannot read the active Sieve script',
      );
      throw new DeliveryError(`temporarily unable to read the Sieve scripts of ${formatAddress(account)}`, false, 'sieve');
    }
    if (site.before.length === 0 && site.after.length === 0 && active === null) return [];
    const user: ReadyScript[] = [];
    if (active !== null) {
      const { maxScriptSize, global } = this.options.settings;
      if (active.content.length > maxScriptSize) {
        user.push({ name: active.name, compiled: null, error: `the script is larger than sieve.maxScriptSize (${maxScriptSize} octets)` });
      } else {
        const globalFolder = global === null ? null : resolve(this.options.baseDir, global);
        const loadInclude = (name: string, location: 'personal' | 'global') => {
          if (location === 'global') return scriptInFolder(globalFolder, name);
          return safeScriptName(name) ? scripts.get(name) : Promise.resolve(null);
        };
        user.push(await sharedCompiler.compile(`user:${formatAddress(account)}`, active.name, active.content, loadInclude));
      }
    }
    return [...site.before, ...user, ...site.after];
  }

  /** Runs `scripts` on the message and carries out what they decided. */
  async filter(scripts: readonly ReadyScript[], d: FilterInput): Promise<CarriedOut> {
    const { settings, store, logger } = this.options;
    const account = formatAddress(d.account);
    const fields = { ...d.logFields, tag: d.logFields.tag ?? 'Sieve', account, to: d.recipient };
    const broken = scripts.findIndex((s) => s.compiled === null);
    const runnable = broken < 0 ? scripts : scripts.slice(0, broken);
    if (broken >= 0) {
      logger.error(
        { ...fields, script: scripts[broken].name, reason: scripts[broken].error },
        broken === 0
          ? 'sieve: the script does not compile; nothing runs, the message is kept in INBOX'
          : 'sieve: the script does not compile; the scripts before it ran, the message is kept in INBOX unless they decided otherwise',
      );
    }
    let outcome: SieveOutcome;
    let runLabel: RunLabel;
    if (runnable.length === 0) {
      outcome = failedOutcome(`${scripts[broken].name} does not compile`);
      runLabel = 'compile-error';
    } else {
      const memory = store.deliveryMemory(d.account);
      const input: SieveRunInput = {
        message: d.message,
        envelope: { from: d.envelopeFrom, to: d.recipient },
        ownAddresses: [...new Set([account, d.recipient.toLowerCase()])],
        // only mailboxexists reads the list (RFC 5490: "mailbox"); listing every folder costs a stat each
        mailboxes: needsMailboxList(runnable) ? (await store.listMailboxes(d.account).catch(() => [])).map((m) => m.name) : [],
        environment: {
          domain: this.options.mainDomain,
          host: this.host,
          location: 'MDA',
          name: 'Postern',
          phase: 'during',
          version: '0.1.0',
        },
        now: new Date(),
      };
      const result = await sievePool().run(
        runnable.map((s) => s.compiled!),
        input,
        { seen: (key) => memory.seen(key) },
        {
          maxActions: settings.maxActions,
          maxRedirects: settings.maxRedirects,
          vacationPeriods: { min: settings.vacationMinPeriod, default: settings.vacationDefaultPeriod, max: settings.vacationMaxPeriod },
          spamtest: settings.spamtest,
          virustest: settings.virustest,
          hostname: this.options.mainDomain,
          maxCpuTime: settings.maxCpuTime,
          maxMemory: settings.maxMemory,
        },
      );
      outcome = result.outcome;
      runLabel = broken >= 0 && result.stopped === null && outcome.error === null ? 'compile-error' : label(result.stopped, outcome);
      if (outcome.error !== null) {
        logger.error(
          { ...fields, script: runnable.map((s) => s.name).join(', '), reason: outcome.error },
          'sieve: the run failed; the message is kept in INBOX',
        );
      }
    }
    for (const line of outcome.log) logger.info({ ...fields, script: runnable.map((s) => s.name).join(', ') }, `sieve: ${line}`);
    this.runs?.inc({ outcome: runLabel });
    const carried = await carryOut(outcome, {
      store,
      memory: store.deliveryMemory(d.account),
      relay: this.options.relay,
      account: d.account,
      recipient: d.recipient,
      envelopeFrom: d.envelopeFrom,
      message: d.message,
      defaultMailbox: d.defaultMailbox,
      settings: {
        redirectDuplicatePeriod: settings.redirectDuplicatePeriod,
        maxRedirects: settings.maxRedirects,
        hostname: this.options.mainDomain,
        fullTempfail: this.options.fullTempfail,
      },
      log: (level, details, message) => logger[level]({ ...fields, ...details }, message),
    });
    if (this.actions) {
      for (const s of carried.stored) this.actions.inc({ action: s.mailbox === 'INBOX' ? 'keep' : 'fileinto' });
      for (const _ of carried.redirected) this.actions.inc({ action: 'redirect' });
      if (carried.rejected !== null) this.actions.inc({ action: 'ereject' });
      if (carried.discarded) this.actions.inc({ action: 'discard' });
    }
    return carried;
  }
}
