// What a protocol module is to the kernel: a typed object that the kernel starts, feeds with the
// connections of its listeners, and stops.
import type { AccountStore } from '../accounts/account-store.js';
import type { MailStore } from '../store/contract.js';
import type { Router } from '../accounts/router.js';
import type { Connection } from '../listeners/connection.js';
import type { SharedLimits } from '../cluster/shared-limits.js';
import type { SignedInSessions } from '../sessions/signed-in.js';
import type { Submitter } from '../submission/submitter.js';
import type { ConfigSection, LoadedConfig, ModuleConfig } from './config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { TraceLog } from '../observability/trace.js';

/** What the kernel gives a module when it starts. */
export interface ModuleContext {
  readonly config: LoadedConfig;
  readonly logger: Logger;
  readonly accounts: AccountStore;
  readonly store: MailStore;
  /** Addresses to accounts (routes and Direct Mailbox Addressing). */
  readonly router: Router;
  /** Mail submitted by signed-in users, relayed or delivered here (POP's XTND XMIT). */
  readonly submitter: Submitter;
  /** Prometheus counters. */
  readonly metrics: Metrics;
  /** The session transcript file (log.trace). */
  readonly trace: TraceLog;
  /** Limits and throttles counted with the other workers and nodes; null in a single process alone. */
  readonly shared: SharedLimits | null;
  /** This process's signed-in sessions, every module's (`postern who`, `postern kick`). */
  readonly signedIn: SignedInSessions;
}

export interface PosternModule {
  /** The name listeners use in their `module` key. */
  readonly name: string;
  /** The module's own config section (its key, like pop:), composed into the config by the kernel. */
  readonly configSection?: ConfigSection;
  start(ctx: ModuleContext): Promise<void> | void;
  /** A reloaded config (SIGHUP): applies to sessions that start from now on. */
  reconfigure(ctx: ModuleContext): void;
  /** Serves one connection accepted by a listener of this module. */
  accept(conn: Connection): void;
  /**
   * Stops serving. Sessions may finish by themselves until `deadline` (ms since the epoch); then they
   * are cut without applying any change they had pending.
   */
  stop(deadline: number): Promise<void>;
}

/**
 * A module as the server knows it before it runs: what it adds to the config (its name, section and
 * default listeners), and how to load it. The built-in modules are the entries of modules/table.ts;
 * a module from outside the tree (config `modules:`) becomes one when it is loaded.
 */
export interface ModuleEntry extends ModuleConfig {
  /** The module itself. Only `serve` calls it: the other commands read the config without loading a protocol. */
  load(): Promise<PosternModule>;
}
